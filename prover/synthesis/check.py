"""What Lean says about a model's formalisation: does the statement elaborate, is the proof sound, is it degenerate.

Model text is untrusted: the statement is cut out of its answer with the project's Lean-aware splitter (only
``open`` lines may come before it, and only into our own header), its terms pass the soundness guard before
Lean elaborates them, and the proof is decided by the run's judge (``prover.lean.judge``: comparator, a fresh
sandboxed REPL, or the scripted world as simulation; the session's own ``verify`` only where no judge is given),
never by the search session's answer alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from prover.lean.guard import check_statement
from prover.lean.lexer import LexError, code_tokens
from prover.lean.session import LeanSession
from prover.lean.source import SourceError, split_commands, split_proof
from prover.lean.statement import split_statement
from prover.lean.types import ProofFinished, TacticError, TacticState, Theorem, Timeout, Verdict

BASE_HEADER = "import Mathlib\n"


@dataclass(frozen=True)
class ModelDeclaration:
    """One theorem out of model code: our header (Mathlib + its ``open`` lines), its statement and full text."""

    theorem: Theorem
    text: str


def read_declaration(code: str) -> ModelDeclaration | str:
    """The single theorem in ``code``, or a one-line reason why there is none usable."""
    try:
        _, commands = split_commands(code)
    except SourceError as exc:
        return f"cannot read the Lean code: {exc}"
    opens: list[str] = []
    theorems = [c for c in commands if c.keyword in ("theorem", "lemma")]
    if len(theorems) != 1:
        return f"expected exactly one theorem, found {len(theorems)}"
    after = commands[commands.index(theorems[0]) + 1 :]
    if any(c.keyword != "comment" for c in after):
        # nothing may follow the theorem: an `#eval`, `simproc_decl`, `variables` … there would run or linger
        return f"unsupported command after the theorem: {next(c.keyword for c in after if c.keyword != 'comment')}"
    for cmd in commands:
        if cmd is theorems[0]:
            break
        if cmd.keyword == "import":
            continue  # we always import Mathlib, and nothing else
        if cmd.keyword == "open":
            plain = _plain_open(cmd.text)
            if plain is None:
                return "only plain 'open Namespace …' lines may come before the theorem"
            opens.append(plain)
            continue
        if cmd.keyword in ("comment", "namespace", "section", "end"):
            return f"'{cmd.keyword}' before the theorem is not supported; give the theorem alone"
        return f"unsupported command before the theorem: {cmd.keyword}"
    thm = theorems[0]
    for prefix in thm.prefixes:
        plain = _plain_open(prefix)
        if plain is None:
            return f"unsupported prefix before the theorem: {prefix.split()[0]} … in"
        opens.append(plain)
    decl = thm.declaration.strip()
    split = split_proof(decl)
    if split is None:
        return "the theorem has no ':='"
    statement = split.statement
    try:
        split_statement(statement)
    except ValueError as exc:
        return f"cannot read the statement: {exc}"
    verdict = check_statement(statement)  # a plain `theorem`/`lemma` head, no `by`/`#`/`ident%` (issue 19)
    if not verdict.accepted:
        return f"the statement is refused by the soundness guard: {verdict.reasons[0]}"
    header = BASE_HEADER + "".join(f"{o}\n" for o in dict.fromkeys(opens))
    name = thm.name or "mustard_example"
    return ModelDeclaration(Theorem(name, statement, header, source="mustard"), decl)


def _plain_open(text: str) -> str | None:
    """``open A B`` rebuilt from its tokens when it opens plain namespaces only (it goes into our header, which
    no guard reads: anything else — ``#eval`` glued after it, ``renaming``, ``hiding`` — is refused)."""
    try:
        toks = code_tokens(text)
    except LexError:
        return None
    if toks and toks[-1].text == "in":
        toks = toks[:-1]
    if len(toks) < 2 or toks[0].text != "open":
        return None
    names = [t.text for t in toks[1:]]
    if any(t.kind != "ident" for t in toks[1:]) or {"renaming", "hiding", "in", "scoped"} & set(names):
        return None
    return "open " + " ".join(names)


@dataclass
class CheckResult:
    """One attempt's outcome: ``stage`` is where it stopped (``parse``, ``statement``, ``proof``) or ``ok``."""

    stage: str
    messages: list[str] = field(default_factory=list)
    theorem: Theorem | None = None
    root: TacticState | None = None
    #: the proof declaration as checked (no ``import``/``open`` lines: those are in ``theorem.header``)
    proof: str | None = None


class Checker:
    """Runs the checks through one session. One checker per worker, each over its own session (the run's
    worker processes build theirs), so checks of different samples run in parallel with nothing shared."""

    def __init__(
        self,
        session: LeanSession,
        trivial: Sequence[str],
        contradiction: Sequence[str],
        judge: Callable[[Theorem, str], Verdict] | None = None,
    ) -> None:
        self.session = session
        self.trivial = list(trivial)
        self.contradiction = list(contradiction)
        #: what decides that the proof holds (a ``prover.lean.judge.Judge``'s ``judge``); the session's
        #: ``verify`` (guard + whole-proof check) only when the caller has no judge
        self.judge = judge or session.verify

    def check(self, formal_statement: str | None, formal_proof: str | None) -> CheckResult:
        if not formal_statement or not formal_proof:
            missing = [
                n
                for n, v in (("formal statement", formal_statement), ("formal proof", formal_proof))
                if not v
            ]
            return CheckResult("parse", [f"the answer has no {' and no '.join(missing)} section"])
        stmt = read_declaration(formal_statement)
        if isinstance(stmt, str):
            return CheckResult("parse", [f"formal statement: {stmt}"])
        proof = read_declaration(formal_proof)
        if isinstance(proof, str):
            return CheckResult("parse", [f"formal proof: {proof}"], stmt.theorem)
        theorem = stmt.theorem
        if proof.theorem.header != theorem.header:
            theorem = Theorem(theorem.name, theorem.statement, proof.theorem.header, theorem.source)
        root = self.session.start(theorem)
        if not isinstance(root, TacticState):
            return CheckResult("statement", _start_messages(root), theorem, None, proof.text)
        verdict = self.judge(theorem, proof.text)
        if not verdict.accepted:
            check = f"{verdict.check}: " if verdict.check else ""
            return CheckResult("proof", [f"{check}{r}" for r in verdict.reasons], theorem, root, proof.text)
        return CheckResult("ok", [], theorem, root, proof.text)

    def degenerate_labels(self, root: TacticState) -> list[str]:
        """``trivial: T`` when tactic ``T`` closes the statement alone; ``contradictory: T`` when ``T`` proves
        ``False`` from its hypotheses. Each label is one tactic run: a small, fixed budget."""
        tactics = self.trivial + self.contradiction
        results = self.session.run_tactics([(root, t) for t in tactics])
        labels = []
        for tactic, res in zip(tactics, results, strict=True):
            if isinstance(res, ProofFinished):
                kind = "trivial" if tactic in self.trivial else "contradictory"
                labels.append(f"{kind}: {tactic}")
        return labels


def _start_messages(res: object) -> list[str]:
    if isinstance(res, TacticError):
        return list(res.messages) or ["the statement does not elaborate"]
    if isinstance(res, Timeout):
        return [f"elaborating the statement timed out after {res.seconds}s"]
    return [f"Lean failed on the statement: {getattr(res, 'reason', res)}"]
