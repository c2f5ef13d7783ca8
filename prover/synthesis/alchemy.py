"""Alchemy over a ``LeanSession``: mutate a theorem by rewriting with a rule, rebuild it, verify it.

Reference Alchemy (ICLR 2025) probes every Mathlib theorem against each target and rebuilds Mathlib files to
verify. Here a symbol index pre-filters the rules (only rules whose constants and notation all occur in the
target; optionally ranked by the dense retriever and cut to a budget, ``alchemy_rank``), the probes run as a batch
through the session (``run_tactics``: pooled backends run them at once), statements are rebuilt from the
pretty-printed goals by ``prover.lean.goal_statement`` (inaccessible names renamed, unrepresentable goals rejected
with the reason), every variant is checked as a whole proof by ``LeanSession.verify`` (guard, compile, statement,
axioms), and each verified proof is replayed tactic by tactic for (goals → tactic) training pairs. Targets from
LeanDojo data are read by ``alchemy_inputs``.

Probes: ``rw`` both ways on the conclusion and on each hypothesis, and ``apply`` on each hypothesis (success:
Lean reports unsolved goals, which replace the hypothesis as fresh binders).
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from prover.evaluation.versions import is_simulation
from prover.jsonl import BadLine, json_object_lines
from prover.lean.goal_statement import goal_parts, statement_from_goal, unsolved_goals
from prover.lean.guard import check_statement
from prover.lean.lexer import LexError, bracket_delta, code_tokens
from prover.lean.session import LeanSession
from prover.lean.source import SourceError, split_commands, split_proof
from prover.lean.statement import split_statement, statement_as_type
from prover.lean.types import ProofFinished, TacticError, TacticState, Theorem, Verdict
from prover.synthesis.alchemy_inputs import Target
from prover.synthesis.errors import SynthesisError
from prover.synthesis.run_progress import SynthProgress
from prover.synthesis.store import SampleStore

#: tokens that say nothing about whether a rule can fire on a target
_STRUCTURAL = frozenset(
    {
        "=",
        "↔",
        "→",
        ",",
        ":",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "⦃",
        "⦄",
        "∀",
        "∃",
        "fun",
        "↦",
        "=>",
        "_",
        ".",
        "@",
    }
)


@dataclass(frozen=True)
class Rule:
    """A rewrite rule: a theorem's name and its type as text (``∀ (a b : ℕ), a + b = b + a``)."""

    name: str
    type: str


def _symbols(text: str) -> set[str]:
    try:
        toks = code_tokens(text)
    except LexError:
        return set()
    out = set()
    for t in toks:
        if t.kind == "ident":
            out.add(t.text)
            out.update(
                t.text.split(".")
            )  # `n.succ` mentions `succ`; `Nat.succ n` mentions `Nat.succ`, `succ`
        elif t.kind == "symbol" and t.text not in _STRUCTURAL:
            out.add(t.text)
    return out


def rule_keys(rule: Rule) -> set[str]:
    """What must occur in a target for ``rule`` to fire: qualified constants and notation of its type (bound
    variables, being unqualified, are left out)."""
    try:
        toks = code_tokens(rule.type)
    except LexError:
        return set()
    keys = set()
    for t in toks:
        if t.kind == "ident" and "." in t.text:
            keys.add(t.text.split(".")[-1])
        elif t.kind == "symbol" and t.text not in _STRUCTURAL:
            keys.add(t.text)
    return keys


class SymbolIndex:
    """The rule corpus indexed by key (constant or notation): a target's candidates are the rules all of whose
    keys occur in it, found by counting hits per rule over the target's symbols, not by scanning every rule."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self.need = [len(rule_keys(r)) for r in self.rules]
        self.by_key: dict[str, list[int]] = {}
        for i, r in enumerate(self.rules):
            for key in rule_keys(r):
                self.by_key.setdefault(key, []).append(i)
        self.always = [i for i, n in enumerate(self.need) if n == 0]

    def candidates(self, target: Target) -> list[Rule]:
        """Rules whose every key occurs in the target's statement (a necessary condition for ``rw`` to fire),
        in corpus order."""
        hits: dict[int, int] = {}
        for symbol in _symbols(target.statement):
            for i in self.by_key.get(symbol, ()):
                hits[i] = hits.get(i, 0) + 1
        rows = sorted([*self.always, *(i for i, n in hits.items() if n == self.need[i])])
        return [self.rules[i] for i in rows]


def prefilter(target: Target, rules: Sequence[Rule] | SymbolIndex) -> list[Rule]:
    """The candidates of ``target`` among ``rules`` (see :class:`SymbolIndex`; build one to filter many targets)."""
    return (rules if isinstance(rules, SymbolIndex) else SymbolIndex(rules)).candidates(target)


@dataclass(frozen=True)
class Probe:
    rule: str
    direction: str  # "→" or "←" (rw), "apply"
    location: str  # "⊢" or a hypothesis name
    #: apply probes: the hypothesis' type P, proved by ``have _ : P := by apply T``
    hyp_type: str = ""

    @property
    def tactic(self) -> str:
        if self.direction == "apply":
            return f"have {APPLY_NAME} : {self.hyp_type} := by apply {self.rule}"
        arrow = "← " if self.direction == "←" else ""
        at = "" if self.location == "⊢" else f" at {self.location}"
        return f"rw [{arrow}{self.rule}]{at}"

    @property
    def reverse(self) -> str:
        arrow = "" if self.direction == "←" else "← "
        return f"rw [{arrow}{self.rule}] at {self.location}"


#: a hypothesis whose type mentions one of these is taken for a proposition (``a b : ℕ`` is not one): the printed
#: goal does not say which hypotheses are proofs, and probing ``rw … at a`` on a variable only wastes a probe
_PROP_SYMBOLS = frozenset(
    {"=", "≠", "<", ">", "≤", "≥", "∣", "↔", "∈", "∉", "⊆", "⊂", "∧", "∨", "¬", "∃", "∀"}
)


def _is_prop(type_text: str) -> bool:
    try:
        return any(t.text in _PROP_SYMBOLS for t in code_tokens(type_text))
    except LexError:
        return False


APPLY_NAME = "h_alchemy_apply"


def probes_for(root: TacticState, rules: Sequence[Rule]) -> list[Probe]:
    """Alchemy's probes: ``rw`` both ways on the conclusion and on each propositional hypothesis, and ``apply``
    for each such hypothesis (whose type must be writable: no inaccessible names in it)."""
    parts = goal_parts(root.goals[0])
    hyps = [(n, t) for names, t in (parts[0] if parts else []) if _is_prop(t) for n in names if "✝" not in n]
    out = [Probe(r.name, d, loc) for r in rules for d in ("→", "←") for loc in ("⊢", *(n for n, _ in hyps))]
    out += [Probe(r.name, "apply", n, t) for r in rules for n, t in hyps if "✝" not in t]
    return out


def _applied_goal(root_goal: str, probe: Probe, produced: list[str]) -> str:
    """The root goal with hypothesis ``probe.location`` replaced by one fresh hypothesis per produced goal, as
    goal text; or a reason (prefixed ``!``) when the produced goals changed the context."""
    parts = goal_parts(root_goal)
    if parts is None:
        return "!the root goal cannot be read"
    hyps, target = parts
    taken = {n for names, _ in hyps for n in names} | {APPLY_NAME}
    new_types = []
    for goal in produced:
        gp = goal_parts(goal)
        if gp is None or [n for names, _ in gp[0] for n in names] != [n for names, _ in hyps for n in names]:
            return "!apply changed the context (new binders or metavariable goals)"
        new_types.append(gp[1])
    lines = []
    for names, typ in hyps:
        if probe.location not in names:
            lines.append(f"{' '.join(names)} : {typ}")
            continue
        rest = [n for n in names if n != probe.location]
        if rest:
            lines.append(f"{' '.join(rest)} : {typ}")
        for new_type in new_types:
            k = 1
            while f"{probe.location}_{k}" in taken:
                k += 1
            taken.add(f"{probe.location}_{k}")
            lines.append(f"{probe.location}_{k} : {new_type}")
    return "\n".join([*lines, f"⊢ {target}"])


def _indent(script: str) -> str:
    return "\n".join("  " + line if line.strip() else line for line in script.strip("\n").split("\n"))


def mutated_proof(probe: Probe, target_proof: str, old_conclusion: str, old_hyp_type: str | None) -> str:
    """The new theorem's proof, from the original one: Alchemy's constructions for ``rw`` probes."""
    proof = target_proof.strip("\n")
    if probe.direction == "apply":
        return f"have {probe.location} : {probe.hyp_type} := by apply {probe.rule} <;> assumption\n{proof}"
    if probe.location == "⊢":
        return f"have h_old : {old_conclusion} := by\n{_indent(proof)}\n{probe.tactic} at h_old\nexact h_old"
    h = probe.location
    return f"have {h} : {old_hyp_type} := by\n  {probe.reverse}\n  exact {h}\n{proof}"


_PARENS = re.compile(r"[()↑\s]+")


def same_statement(a: str, b: str) -> bool:
    """Equal up to the name, whitespace, ``↑`` and parentheses: such a variant is the original again."""
    pa, pb = split_statement(a), split_statement(b)
    return _PARENS.sub("", pa.binders + ":" + pa.type) == _PARENS.sub("", pb.binders + ":" + pb.type)


@dataclass
class AlchemyCounts:
    """Per target (checkpointed) and summed over a run. ``rules``: in the corpus; ``candidates``: after the
    symbol filter; ``probed_rules``: after ranking and ``max_rules``; ``probes_all``: what probing every rule
    of the corpus would have cost; ``probes_saved = probes_all - probes``."""

    rules: int = 0
    candidates: int = 0
    probed_rules: int = 0
    probes: int = 0
    probes_all: int = 0
    probes_saved: int = 0
    successes: int = 0
    variants: int = 0
    verified: int = 0
    pairs: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        key = reason.split(":")[0][:60]
        self.rejected[key] = self.rejected.get(key, 0) + 1

    def add(self, other: dict[str, Any]) -> None:
        """Add one target's counts (as checkpointed: a plain dict; keys a newer run added may be missing)."""
        for key, value in other.items():
            if key == "rejected":
                for reason, n in value.items():
                    self.rejected[reason] = self.rejected.get(reason, 0) + n
            elif hasattr(self, key):
                setattr(self, key, getattr(self, key) + value)


class RuleRanker(Protocol):
    """Orders candidate rules by relevance to a goal (best first); ``prover.synthesis.alchemy_rank``."""

    def rank(self, goal: str, rules: Sequence[Rule]) -> list[Rule]: ...


def select_rules(
    goal: str, candidates: Sequence[Rule], ranker: RuleRanker | None = None, max_rules: int | None = None
) -> list[Rule]:
    """The rules to probe: the candidates, ranked when a ranker is given, cut to ``max_rules``."""
    ordered = ranker.rank(goal, candidates) if ranker is not None and candidates else list(candidates)
    return ordered[:max_rules] if max_rules is not None else ordered


def mutate(
    session: LeanSession,
    target: Target,
    rules: Sequence[Rule],
    counts: AlchemyCounts | None = None,
    use_prefilter: bool = True,
    ranker: RuleRanker | None = None,
    max_rules: int | None = None,
    pairs: bool = True,
    index: SymbolIndex | None = None,
    judge: Callable[[Theorem, str], Verdict] | None = None,
) -> list[dict[str, Any]]:
    """Every verified (and every rejected, with its reason) variant of ``target`` under ``rules``; with
    ``pairs``, each verified variant carries the (goals → tactic) steps of its proof (``steps``).
    ``judge`` decides "verified" (a ``prover.lean.judge.Judge``'s ``judge``; the session's ``verify`` only when
    the caller has none): the session's answers are hints (issue 19)."""
    decide = judge or session.verify
    counts = counts if counts is not None else AlchemyCounts()
    # the target is the dataset's own statement (attributes allowed); its variants are ours: ``source="alchemy"``
    # gives them the guard's plain-head statement rules wherever they are started or verified
    theorem = Theorem(target.name, target.statement, target.header, source="alchemy-target")
    counts.rules += len(rules)
    root = session.start(theorem)
    if not isinstance(root, TacticState) or len(root.goals) != 1:
        counts.reject("target does not start with one goal")
        return []
    original = statement_from_goal(root.goals[0], target.name)
    if not original.ok or original.statement is None:
        counts.reject(f"target goal cannot be rebuilt ({original.kind}): {original.reason}")
        return []
    old_conclusion = split_statement(original.statement).type
    hyp_types = {n: t for names, t in (goal_parts(root.goals[0]) or ([], ""))[0] for n in names}
    candidates = prefilter(target, index or rules) if use_prefilter else list(rules)
    chosen = select_rules(root.goals[0], candidates, ranker, max_rules)
    per_rule = len(probes_for(root, rules[:1])) if rules else 0  # every rule gets the same probes
    probes = probes_for(root, chosen)
    counts.candidates += len(candidates)
    counts.probed_rules += len(chosen)
    counts.probes += len(probes)
    counts.probes_all += per_rule * len(rules)
    counts.probes_saved += per_rule * len(rules) - len(probes)
    results = session.run_tactics([(root, p.tactic) for p in probes])
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for probe, res in zip(probes, results, strict=True):
        if probe.direction == "apply":
            produced = unsolved_goals(res.messages) if isinstance(res, TacticError) else None
            if not produced:
                continue
            goal = _applied_goal(root.goals[0], probe, produced)
            if goal.startswith("!"):
                counts.reject(goal[1:])
                continue
        elif isinstance(res, TacticState) and len(res.goals) == 1:
            goal = res.goals[0]
        else:
            continue
        counts.successes += 1
        name = f"{target.name}_alchemy_{len(out) + 1}"
        rebuilt = statement_from_goal(goal, name)
        record: dict[str, Any] = {
            "target": target.name,
            "rule": probe.rule,
            "direction": probe.direction,
            "location": probe.location,
            "goal": goal,
        }
        if not rebuilt.ok or rebuilt.statement is None:
            counts.reject(f"round trip ({rebuilt.kind})")
            out.append(
                {**record, "verified": False, "reasons": [f"not rebuilt ({rebuilt.kind}): {rebuilt.reason}"]}
            )
            continue
        if same_statement(rebuilt.statement, original.statement) or rebuilt.statement in seen:
            counts.reject("same as the original or an earlier variant")
            continue
        seen.add(rebuilt.statement)
        counts.variants += 1
        proof = mutated_proof(probe, target.proof, old_conclusion, hyp_types.get(probe.location))
        variant = Theorem(name, rebuilt.statement, target.header, source="alchemy")
        # a statement of ours, rebuilt from Lean's goal text: the judge elaborates it, so it passes the strict
        # statement rules first, as it would at ``LeanSession.start`` (a judge need not start it there)
        refused = check_statement(variant.statement).reasons
        verdict = Verdict(False, refused, "guard") if refused else decide(variant, proof)
        reasons = list(verdict.reasons)
        steps: list[dict[str, Any]] = []
        if verdict.accepted:
            counts.verified += 1
            if pairs:
                steps, why = proof_steps(session, variant, proof)
                if why:
                    counts.reject(f"pairs: {why}")
                    reasons.append(f"no state-tactic pairs: {why}")
                counts.pairs += len(steps)
        elif "↑" in rebuilt.statement and verdict.check == "compile":
            counts.reject("round trip (coercion did not elaborate)")  # `↑x` read back without its type
        else:
            counts.reject(f"verification: {verdict.check}")
        out.append(
            {
                **record,
                "name": name,
                "statement": rebuilt.statement,
                "proof": proof,
                "renamed": dict(rebuilt.renamed),
                "verified": verdict.accepted,
                "reasons": reasons,
                "steps": steps,
            }
        )
    return out


def top_level_tactics(script: str) -> list[str]:
    """The tactics of a ``by`` block, one per line at the block's column (deeper lines, and lines inside open
    brackets, continue the tactic above; each tactic is dedented, its nested block kept)."""
    lines = script.strip("\n").split("\n")
    code = [ln for ln in lines if ln.strip() and not ln.strip().startswith("--")]
    base = min((len(ln) - len(ln.lstrip()) for ln in code), default=0)
    out: list[list[str]] = []
    depth = 0
    for line in lines:
        if not line.strip() or line.strip().startswith("--"):
            continue
        indent = len(line) - len(line.lstrip())
        if out and (indent > base or depth > 0):
            out[-1].append(line[base:])
        else:
            out.append([line[base:]])
        with contextlib.suppress(LexError):  # a line cut inside a string or comment: depth unchanged
            depth = max(0, depth + sum(bracket_delta(t) for t in code_tokens(line)))
    return [textwrap.dedent("\n".join(t)).strip("\n") for t in out]


def proof_steps(session: LeanSession, theorem: Theorem, proof: str) -> tuple[list[dict[str, Any]], str]:
    """The proof run tactic by tactic from the theorem's root: one ``{step, goals, goal_id, tactic}`` per
    tactic (the state it ran on), or no steps and the reason when a step fails or the proof does not close."""
    state = session.start(theorem)
    if not isinstance(state, TacticState):
        return [], "the variant does not start"
    tactics = top_level_tactics(proof)
    steps: list[dict[str, Any]] = []
    for i, tactic in enumerate(tactics):
        res = session.run_tactic(state, tactic)
        steps.append({"step": i, "goals": list(state.goals), "goal_id": 0, "tactic": tactic})
        if isinstance(res, TacticState):
            state = res
        elif isinstance(res, ProofFinished) and i == len(tactics) - 1:
            return steps, ""
        else:
            return [], f"step {i} ({tactic.splitlines()[0][:40]}) did not run as in the whole proof"
    return [], "the steps leave goals open"


def tactic_lines(variants: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The verified variants' steps in the project's tactic JSONL format (``prover data build-train
    --tactics`` or ``--synth``): ``source`` is ``alchemy-<variant>/<target>`` (``RUN/PROBLEM``: the split groups
    by the target, so the variants of one theorem never straddle train and test), plus the provenance (target,
    rule, direction, location)."""
    out = []
    for v in variants:
        if not v.get("verified"):
            continue
        for s in v.get("steps") or []:
            out.append(
                {
                    "source": f"alchemy-{v['name']}/{v['target']}",
                    **s,
                    "target": v["target"],
                    "rule": v["rule"],
                    "direction": v["direction"],
                    "location": v["location"],
                }
            )
    return out


def merged_header(headers: Sequence[str]) -> str:
    """One header for targets from several files: every distinct line, imports first, in first-seen order."""
    lines = list(dict.fromkeys(ln.strip() for h in headers for ln in h.splitlines() if ln.strip()))
    imports = [ln for ln in lines if ln.startswith("import ")]
    return "".join(ln + "\n" for ln in imports + [ln for ln in lines if not ln.startswith("import ")])


def lean_file(header: str, variants: Sequence[dict[str, Any]], simulated: Sequence[str] = ()) -> str:
    """The verified variants as one Lean file a Lean user can check: the header, then each variant (a unique
    name) with its proof and a comment naming its target and rule. ``simulated``: the backends of a scripted
    world (or another double) that checked some of them, named in a comment under the header."""
    blocks = [header.rstrip("\n")]
    if simulated:
        blocks.append(
            f"-- SIMULATION: these variants were checked by {'; '.join(simulated)} only, never by Lean,\n"
            "-- which may well reject them: check the file with `lake env lean FILE` before using it."
        )
    names: set[str] = set()
    for v in variants:
        if v.get("verified") and v["name"] not in names:
            names.add(v["name"])
            how = (
                f"apply {v['rule']} at {v['location']}"
                if v["direction"] == "apply"
                else (f"rw [{'← ' if v['direction'] == '←' else ''}{v['rule']}] at {v['location']}")
            )
            blocks.append(
                f"-- {v['target']}: {how}\n" + Theorem(v["name"], v["statement"]).with_proof(v["proof"])
            )
    return "\n\n".join(blocks) + "\n"


# --- inputs and runs ------------------------------------------------------------------------------------
class AlchemyInputError(SynthesisError, ValueError):
    """A targets or rules file that cannot be used; the message names the file and line."""


def load_targets(
    path: Path, source_root: Path | None = None, scheme: str = "random", skipped: list[str] | None = None
) -> list[Target]:
    """Targets from JSONL (``{name, statement, proof, header?}``), a ``.lean`` file or a directory of them
    (theorems whose proof is a ``by`` block; the file's ``import``/``open`` lines become the header), a LeanDojo
    traced repository, or LeanDojo Benchmark 4 (its root or one split file; the statements are cut from the
    files under ``source_root`` at the benchmark's positions). Theorems that cannot be targets (term-mode
    proofs, spans outside their file) are left out and, with ``skipped``, named there with the reason."""
    from prover.synthesis import alchemy_inputs as inputs

    skipped = skipped if skipped is not None else []
    if path.is_dir() and inputs.is_traced_repo(path):
        from prover.retrieval.corpus import CorpusError, load_traced_repo

        errors: tuple[type[Exception], ...] = (CorpusError, *TRACE_ERRORS)
        try:
            root, located = inputs.traced_located(load_traced_repo(path, build_deps=False))
        except errors as exc:
            raise AlchemyInputError(f"targets: {path}: {exc}") from None
        found, left = inputs.targets_at_positions(root, located)
        skipped.extend(left)
        return found
    if inputs.is_leandojo_benchmark(path) and (path.is_dir() or path.is_file()):
        if source_root is None or not source_root.is_dir():
            raise AlchemyInputError(
                f"targets: {path} is LeanDojo Benchmark 4; set synth.source_root to the repository checkout "
                "its file_path entries point into"
            )
        try:
            located = inputs.leandojo_located(path, scheme)
        except ValueError as exc:
            raise AlchemyInputError(f"targets: {exc}") from None
        found, left = inputs.targets_at_positions(source_root, located)
        skipped.extend(left)
        return found
    if path.is_dir():
        return [t for f in sorted(path.rglob("*.lean")) for t in load_targets(f, skipped=skipped)]
    if not path.is_file():
        raise AlchemyInputError(f"targets: no such file or directory: {path}")
    if path.suffix == ".lean":
        return _lean_targets(path, skipped)
    out = []
    for where, obj in json_object_lines(path):
        if isinstance(obj, BadLine):
            raise AlchemyInputError(obj.describe())
        missing = [k for k in ("name", "statement", "proof") if not isinstance(obj.get(k), str) or not obj[k]]
        if missing:
            raise AlchemyInputError(f"{where}: missing {', '.join(missing)}")
        header = obj["header"] if isinstance(obj.get("header"), str) else "import Mathlib\n"
        out.append(Target(obj["name"], obj["statement"], obj["proof"], str(header)))
    return out


def _lean_targets(path: Path, skipped: list[str]) -> list[Target]:
    from prover.synthesis.alchemy_inputs import target_from_declaration

    try:
        text = path.read_text(encoding="utf-8")
        _, commands = split_commands(text)
    except (OSError, UnicodeDecodeError, SourceError) as exc:
        raise AlchemyInputError(f"{path}: cannot read it as Lean ({exc})") from None
    header = "".join(c.text.strip() + "\n" for c in commands if c.keyword in ("import", "open"))
    out = []
    for cmd in commands:
        if not cmd.is_theorem:
            continue
        target = target_from_declaration(cmd.full_name, cmd.declaration, header or "import Mathlib\n")
        if isinstance(target, str):
            skipped.append(f"{path}: {cmd.full_name}: {target}")
        else:
            out.append(target)
    return out


_PP_OPTION = re.compile(r"pp(\.[A-Za-z]+)+")


def with_pp_options(targets: Sequence[Target], options: Sequence[str]) -> list[Target]:
    """The targets with ``set_option NAME true`` for each pretty-printer option appended to their headers
    (``pp.coercions.types``: goals print ``(↑x : ℤ)``, which reads back with its type)."""
    bad = [o for o in options if not _PP_OPTION.fullmatch(o)]
    if bad:
        raise AlchemyInputError(f"pp_options: not a pretty-printer option name: {bad[0]!r}")
    if not options:
        return list(targets)
    lines = "".join(f"set_option {o} true\n" for o in options)
    return [Target(t.name, t.statement, t.proof, t.header.rstrip("\n") + "\n" + lines) for t in targets]


def _type_of(code: str) -> str | None:
    """The closed type of a theorem's code (``theorem n (a : α) : a = a`` → ``∀ (a : α), a = a``), or None."""
    try:
        split = split_proof(code)
        parts = split_statement(split.statement if split else code)
    except ValueError:  # SourceError and LexError are ValueErrors too
        return None
    return statement_as_type(parts) if parts.kind in ("theorem", "lemma") else None


def rules_from_corpus(corpus: Any) -> tuple[list[Rule], int]:
    """The theorems of a premise corpus (``prover.retrieval.corpus.Corpus``) as rules, and how many premises
    were left out (definitions, structures, code without a readable statement)."""
    out = []
    for p in corpus.premises:
        typ = _type_of(p.code) if p.code else None
        if typ:
            out.append(Rule(p.full_name, typ))
    return out, len(corpus.premises) - len(out)


def load_rules(path: Path) -> list[Rule]:
    """Rules from JSONL: ``{name, type}``, or premise-corpus lines ``{full_name, code}`` (the type is read from
    the code's statement); or every theorem of LeanDojo Benchmark 4's ``corpus.jsonl`` or of a traced repository,
    read by ``prover.retrieval.corpus`` (their definitions and structures are not rules and are left out)."""
    from prover.retrieval.corpus import CorpusError, read_corpus_source, read_leandojo_corpus

    if path.is_dir():
        from prover.synthesis.alchemy_inputs import is_traced_repo

        if not is_traced_repo(path):
            raise AlchemyInputError(
                f"rules: {path} is a directory but not a LeanDojo traced repo (no *.trace.xml)"
            )
        errors: tuple[type[Exception], ...] = (CorpusError, *TRACE_ERRORS)
        try:
            return rules_from_corpus(read_corpus_source(path, "traced"))[0]
        except errors as exc:
            raise AlchemyInputError(f"rules: {path}: {exc}") from None
    if not path.is_file():
        raise AlchemyInputError(f"rules: no such file: {path}")
    out = []
    for where, obj in json_object_lines(path):
        if isinstance(obj, BadLine):
            raise AlchemyInputError(obj.describe())
        if "premises" in obj and "path" in obj:  # LeanDojo's corpus.jsonl: one line per file
            try:
                return rules_from_corpus(read_leandojo_corpus(path))[0]
            except CorpusError as exc:
                raise AlchemyInputError(f"rules: {exc}") from None
        name = obj.get("name") or obj.get("full_name")
        typ = obj.get("type")
        if not typ and isinstance(obj.get("code"), str):
            typ = _type_of(obj["code"])
        if not isinstance(name, str) or not isinstance(typ, str) or not name or not typ:
            raise AlchemyInputError(
                f"{where}: a rule needs 'name' and 'type' (or 'full_name' and a theorem's 'code')"
            )
        out.append(Rule(name, typ))
    return out


def run_alchemy(
    session: LeanSession,
    targets: Sequence[Target],
    rules: Sequence[Rule],
    run_dir: Path,
    settings: dict[str, Any],
    use_prefilter: bool = True,
    ranker: RuleRanker | None = None,
    max_rules: int | None = None,
    pairs: bool = True,
    judge: Callable[[Theorem, str], Verdict] | None = None,
    versions: Mapping[str, Any] | None = None,
    command: Sequence[str] | None = None,
) -> tuple[AlchemyCounts, list[dict[str, Any]]]:
    """One checkpoint line per finished target in ``run_dir/targets.jsonl`` (resumable; it holds the target's
    counts, variants and their steps); then, rebuilt from the checkpoints, ``variants.lean`` (the verified
    variants), ``tactics.jsonl`` (their state-tactic pairs) and ``counts.json``. Returns the totals over all
    targets, resumed ones included.

    ``versions``: what checks (``run_versions`` of the backend, with the judge's name; None: the session's
    ``describe``), written to ``run.json`` and to every checkpoint; a scripted world (``is_simulation``) is
    named a simulation in ``variants.lean``, ``counts.json`` and every tactic line as well."""
    from prover.evaluation.results import note_resume, package_version, write_run_meta
    from prover.evaluation.versions import session_versions

    if versions is None:
        versions = session_versions(session)
    index = SymbolIndex(rules) if use_prefilter else None  # built once for every target
    argv = list(command if command is not None else sys.argv)
    with SampleStore(run_dir, settings, key="target", file=TARGETS) as store:
        meta = {"package": package_version(), **versions, "settings": settings, "created": time.time()}
        write_run_meta(run_dir, {**meta, "command": argv})
        if store.records:
            note_resume(run_dir, {"at": time.time(), "command": argv})
        names = {t.name for t in targets}
        earlier = [r for r in store.records if r["target"] in names]
        verified = sum(int(r["counts"].get("verified", 0)) for r in earlier)
        shown = SynthProgress("synth alchemy", len(names), "targets", done=len(earlier))
        shown.begin("mutate", f" ({len(rules)} rules)")
        for target in targets:
            if target.name in store.finished:
                continue
            counts = AlchemyCounts()
            variants = mutate(
                session, target, rules, counts, use_prefilter, ranker, max_rules, pairs, index, judge
            )
            store.append(
                {
                    "target": target.name,
                    "header": target.header,
                    "counts": asdict(counts),
                    "variants": variants,
                    **versions,
                }
            )
            verified += counts.verified
            shown.advance(f"{verified} verified variants")
        records = list(store.records)
    total = AlchemyCounts()
    for rec in records:
        total.add(rec["counts"])
    variants = [v for rec in records for v in rec["variants"]]
    header = merged_header(
        [rec["header"] for rec in records if any(v.get("verified") for v in rec["variants"])]
    )
    simulated = sorted({str(rec.get("backend")) for rec in records if is_simulation(rec)})
    _write(run_dir / "variants.lean", lean_file(header or "import Mathlib\n", variants, simulated))
    lines = [{**x, "backend": rec.get("backend")} for rec in records for x in tactic_lines(rec["variants"])]
    _write(run_dir / TACTICS, "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    summary = {**asdict(total), **({"simulation": "; ".join(simulated)} if simulated else {})}
    _write(run_dir / "counts.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return total, variants


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


#: What reading a traced repo raises besides ``CorpusError``: LeanDojo's RuntimeError (not a git repo, …), I/O.
TRACE_ERRORS: tuple[type[Exception], ...] = (RuntimeError, OSError)
TARGETS = "targets.jsonl"
TACTICS = "tactics.jsonl"
