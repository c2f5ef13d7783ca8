"""(state, used premises) pairs read off tactic text, for the sources that record no premise provenance.

Why: LeanDojo annotates every traced tactic with the premises it used; our tactic JSONL, ``prover prove`` runs
and synthesis record only the tactic text. Given a premise corpus (the one the retriever indexes), the premises
a tactic used are the corpus names its identifiers spell: Lean's lexer finds the identifiers (so names inside
comments or strings never count), and a dotted identifier counts by its longest prefix that is a premise
(``Nat.add_comm.symm`` used ``Nat.add_comm``; ``h.mp`` used nothing). Names written relative to an ``open``
namespace are missed (the tactic JSONL records no header): the pairs are a lower bound, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prover.lean.lexer import LexError, code_tokens, name_parts
from prover.retrieval.corpus import Corpus
from prover.training.records import PremiseExample, TacticExample


def premises_used(tactic: str, names: Mapping[str, int]) -> list[str]:
    """The corpus premises ``tactic`` names, in order of first use (``names``: ``full_name -> row``)."""
    try:
        tokens = code_tokens(tactic)
    except LexError:
        return []  # text Lean would not lex names nothing for certain
    used: dict[str, None] = {}
    for tok in tokens:
        if tok.kind != "ident":
            continue
        parts = name_parts(tok.text)
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in names:
                used.setdefault(candidate)
                break
    return list(used)


def premise_examples(records: Sequence[TacticExample], corpus: Corpus) -> list[PremiseExample]:
    """One :class:`PremiseExample` per (state, tactic) record whose tactic names corpus premises; the
    premises' files come from the corpus (for ReProver's in-file hard negatives)."""
    rows = corpus.by_name()
    out = []
    for r in records:
        used = premises_used(r.tactic, rows)
        if not used:
            continue
        out.append(
            PremiseExample(
                theorem=r.theorem,
                split=r.split,
                provenance=r.provenance,
                goals=[r.focused_goal],  # the goal the tactic acted on (the retriever's query)
                premises=used,
                premise_files=[corpus.premises[rows[n]].path for n in used],
            )
        )
    return out
