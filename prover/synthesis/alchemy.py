"""Alchemy over a ``LeanSession``: mutate a theorem by rewriting with a rule, rebuild it, verify it.

Reference Alchemy (ICLR 2025) probes every Mathlib theorem against each target and rebuilds Mathlib files to
verify. Here a symbol index pre-filters the rules (only rules whose constants and notation all occur in the
target), the probes run as a batch through the session (``run_tactics``: pooled backends run them at once),
statements are rebuilt from the pretty-printed goals by ``prover.lean.goal_statement`` (inaccessible names
renamed, unrepresentable goals rejected with the reason), and every variant is checked as a whole proof by
``LeanSession.verify`` (guard, compile, statement, axioms).

Probes: ``rw`` both ways on the conclusion and on each hypothesis, and ``apply`` on each hypothesis (success:
Lean reports unsolved goals, which replace the hypothesis as fresh binders).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prover.errors import ProverError
from prover.jsonl import BadLine, json_object_lines
from prover.lean.goal_statement import goal_parts, statement_from_goal, unsolved_goals
from prover.lean.lexer import LexError, code_tokens
from prover.lean.session import LeanSession
from prover.lean.source import SourceError, split_commands, split_proof
from prover.lean.statement import split_statement, statement_as_type
from prover.lean.types import TacticError, TacticState, Theorem
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
class Target:
    name: str
    statement: str
    proof: str
    header: str = "import Mathlib\n"


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


def prefilter(target: Target, rules: Sequence[Rule]) -> list[Rule]:
    """Rules whose every key occurs in the target's statement (a necessary condition for ``rw`` to fire)."""
    have = _symbols(target.statement)
    return [r for r in rules if rule_keys(r) <= have]


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
    rules: int = 0
    candidates: int = 0
    probes: int = 0
    probes_saved: int = 0
    successes: int = 0
    variants: int = 0
    verified: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        key = reason.split(":")[0][:60]
        self.rejected[key] = self.rejected.get(key, 0) + 1


def mutate(
    session: LeanSession,
    target: Target,
    rules: Sequence[Rule],
    counts: AlchemyCounts | None = None,
    use_prefilter: bool = True,
) -> list[dict[str, Any]]:
    """Every verified (and every rejected, with its reason) variant of ``target`` under ``rules``."""
    counts = counts if counts is not None else AlchemyCounts()
    theorem = Theorem(target.name, target.statement, target.header, source="alchemy")
    root = session.start(theorem)
    if not isinstance(root, TacticState) or len(root.goals) != 1:
        counts.reject("target does not start with one goal")
        return []
    original = statement_from_goal(root.goals[0], target.name)
    if not original.ok or original.statement is None:
        counts.reject(f"target goal cannot be rebuilt: {original.reason}")
        return []
    old_conclusion = split_statement(original.statement).type
    hyp_types = {n: t for names, t in (goal_parts(root.goals[0]) or ([], ""))[0] for n in names}
    candidates = prefilter(target, rules) if use_prefilter else list(rules)
    all_probes = probes_for(root, rules)
    probes = probes_for(root, candidates)
    counts.rules += len(rules)
    counts.candidates += len(candidates)
    counts.probes += len(probes)
    counts.probes_saved += len(all_probes) - len(probes)
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
            counts.reject(rebuilt.reason or "cannot rebuild")
            out.append({**record, "verified": False, "reasons": [f"not rebuilt: {rebuilt.reason}"]})
            continue
        if same_statement(rebuilt.statement, original.statement) or rebuilt.statement in seen:
            counts.reject("same as the original or an earlier variant")
            continue
        seen.add(rebuilt.statement)
        counts.variants += 1
        proof = mutated_proof(probe, target.proof, old_conclusion, hyp_types.get(probe.location))
        verdict = session.verify(Theorem(name, rebuilt.statement, target.header, source="alchemy"), proof)
        if verdict.accepted:
            counts.verified += 1
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
                "reasons": list(verdict.reasons),
            }
        )
    return out


def lean_file(header: str, variants: Sequence[dict[str, Any]]) -> str:
    """The verified variants as one Lean file a Lean user can check."""
    blocks = [header.rstrip("\n")]
    for v in variants:
        if v.get("verified"):
            blocks.append(f"-- {v['target']}: rw [{v['rule']}] ({v['direction']}) at {v['location']}")
            blocks.append(Theorem(v["name"], v["statement"]).with_proof(v["proof"]))
    return "\n\n".join(blocks) + "\n"


# --- inputs and runs ------------------------------------------------------------------------------------
class AlchemyInputError(ProverError, ValueError):
    """A targets or rules file that cannot be used; the message names the file and line."""


def load_targets(path: Path) -> list[Target]:
    """Targets from JSONL (``{name, statement, proof, header?}``), a ``.lean`` file or a directory of them
    (theorems whose proof is a ``by`` block; the file's ``import``/``open`` lines become the header)."""
    if path.is_dir():
        return [t for f in sorted(path.rglob("*.lean")) for t in load_targets(f)]
    if not path.is_file():
        raise AlchemyInputError(f"targets: no such file or directory: {path}")
    if path.suffix == ".lean":
        return _lean_targets(path)
    out = []
    for where, obj in json_object_lines(path):
        if isinstance(obj, BadLine):
            raise AlchemyInputError(obj.describe())
        missing = [k for k in ("name", "statement", "proof") if not isinstance(obj.get(k), str) or not obj[k]]
        if missing:
            raise AlchemyInputError(f"{where}: missing {', '.join(missing)}")
        header = obj.get("header") if isinstance(obj.get("header"), str) else "import Mathlib\n"
        out.append(Target(obj["name"], obj["statement"], obj["proof"], header))
    return out


def _lean_targets(path: Path) -> list[Target]:
    try:
        text = path.read_text(encoding="utf-8")
        _, commands = split_commands(text)
    except (OSError, UnicodeDecodeError, SourceError) as exc:
        raise AlchemyInputError(f"{path}: cannot read it as Lean ({exc})") from None
    header = "".join(c.text.strip() + "\n" for c in commands if c.keyword in ("import", "open"))
    out = []
    for cmd in commands:
        split = split_proof(cmd.declaration) if cmd.is_theorem else None
        if split is None or split.is_open or not split.proof or split.proof[0] != "by":
            continue
        decl = cmd.declaration
        body = decl[len(split.statement) :].lstrip()[2:].lstrip()  # after ':='
        body = body[2:] if body.startswith("by") else body
        statement = split.statement
        prefix = split_statement(statement).prefix  # a doc comment or attributes: not part of the statement
        if prefix and prefix in statement:
            statement = statement[statement.index(prefix) + len(prefix) :].lstrip()
        out.append(
            Target(
                cmd.full_name,
                statement,
                textwrap.dedent(body.strip("\n")),
                header or "import Mathlib\n",
            )
        )
    return out


def load_rules(path: Path) -> list[Rule]:
    """Rules from JSONL: ``{name, type}``, or premise-corpus lines ``{full_name, code}`` (the type is read from
    the code's statement)."""
    if not path.is_file():
        raise AlchemyInputError(f"rules: no such file: {path}")
    out = []
    for where, obj in json_object_lines(path):
        if isinstance(obj, BadLine):
            raise AlchemyInputError(obj.describe())
        name = obj.get("name") or obj.get("full_name")
        typ = obj.get("type")
        if not typ and isinstance(obj.get("code"), str):
            split = split_proof(obj["code"])
            try:
                typ = statement_as_type(split.statement if split else obj["code"])
            except (ValueError, StopIteration):
                typ = None
        if not isinstance(name, str) or not isinstance(typ, str) or not name or not typ:
            raise AlchemyInputError(f"{where}: a rule needs 'name' and 'type' (or 'full_name' and 'code')")
        out.append(Rule(name, typ))
    return out


def run_alchemy(
    session: LeanSession,
    targets: Sequence[Target],
    rules: Sequence[Rule],
    run_dir: Path,
    settings: dict[str, Any],
    use_prefilter: bool = True,
) -> tuple[AlchemyCounts, list[dict[str, Any]]]:
    """One checkpoint line per finished target in ``run_dir/targets.jsonl`` (resumable); then ``variants.lean``
    (the verified variants) and ``counts.json``. Returns the totals over all targets, resumed ones included."""
    with SampleStore(run_dir, settings, key="target", file=TARGETS) as store:
        for target in targets:
            if target.name in store.finished:
                continue
            counts = AlchemyCounts()
            variants = mutate(session, target, rules, counts, use_prefilter)
            store.append(
                {
                    "target": target.name,
                    "header": target.header,
                    "counts": asdict(counts),
                    "variants": variants,
                }
            )
        records = list(store.records)
    total = AlchemyCounts()
    for rec in records:
        for key, value in rec["counts"].items():
            if key == "rejected":
                for reason, n in value.items():
                    total.rejected[reason] = total.rejected.get(reason, 0) + n
            else:
                setattr(total, key, getattr(total, key) + value)
    variants = [v for rec in records for v in rec["variants"]]
    header = records[0]["header"] if records else "import Mathlib\n"
    (run_dir / "variants.lean").write_text(lean_file(header, variants), encoding="utf-8")
    (run_dir / "counts.json").write_text(
        json.dumps(asdict(total), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return total, variants


TARGETS = "targets.jsonl"
