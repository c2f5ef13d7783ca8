"""Readers turning each data source into training records (splits are assigned later, by theorem).

Sources: our tactic JSONL (``source, step, goals, goal_id, tactic``), ``prover prove`` run directories (the
proved path of every solved problem, critic labels from the saved search trees, and every proved problem's
whole proof), ``prover synth`` run directories (verified samples as whole proofs), and LeanDojo Benchmark 4
(``traced_tactics`` with ``annotated_tactic`` premise provenances; its published split kept).
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from prover.evaluation.versions import is_simulation
from prover.generation.corpus import TacticCorpusError, load_corpus
from prover.jsonl import BadLine, json_object_lines
from prover.lean.types import Theorem
from prover.retrieval.corpus import leandojo_split_files
from prover.training.records import (
    MAX_DISTANCE,
    CriticExample,
    PremiseExample,
    ProofExample,
    Provenance,
    Split,
    TacticExample,
    TrainingDataError,
)

GRAPH_FORMAT = "lean-prover-search-graph"


def from_tactic_jsonl(
    path: str | Path, lean: str | None = None, mathlib: str | None = None
) -> list[TacticExample]:
    """(state, tactic) pairs of a tactic corpus; ``after`` is the next step's state of the same proof.

    A ``source`` ``RUN/PROBLEM`` (the FPS steps file: ``leanstar/proving.formal_math500#3``) is read as the
    search that found the proof (provenance) and the problem (the split key): two provers' proofs of one
    problem must land on the same side of the split.
    """
    p = Path(path)
    try:
        steps = load_corpus(p)
    except TacticCorpusError as exc:
        raise TrainingDataError(str(exc)) from None
    by_key = {(s.source, s.step): s for s in steps}
    provs: dict[str, Provenance] = {}
    out = []
    for s in steps:
        nxt = by_key.get((s.source, s.step + 1))
        run, _, problem = s.source.rpartition("/") if "/" in s.source else ("", "", s.source)
        if run not in provs:
            provs[run] = Provenance(
                source="tactic-jsonl", origin=str(p.resolve()), lean=lean, mathlib=mathlib, run_id=run or None
            )
        out.append(
            TacticExample(
                theorem=problem,
                provenance=provs[run],
                goals=list(s.goals),
                goal_id=s.goal_id,
                tactic=s.tactic,
                after=list(nxt.goals) if nxt is not None else None,
            )
        )
    return out


def _run_meta(run_dir: Path) -> dict[str, Any]:
    meta_path = run_dir / "run.json"
    if not meta_path.is_file():
        raise TrainingDataError(f"{run_dir} is not a `prover prove` run directory (no run.json)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingDataError(f"{meta_path}: unreadable run metadata: {exc}") from None
    return meta if isinstance(meta, dict) else {}


class SavedTree:
    """A saved search graph (``prover prove --save-trees``) read as plain data: nodes, edges, proof nodes."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        if not isinstance(data, dict) or data.get("format") != GRAPH_FORMAT:
            raise TrainingDataError(f"{where}: not a saved search graph")
        try:
            self.nodes = {int(n["id"]): n for n in data["nodes"]}
            self.edges = [(int(e["source"]), int(e["target"]), str(e["tactic"])) for e in data["edges"]]
            self.root = int(data.get("root", 0))
        except (KeyError, TypeError, ValueError) as exc:
            raise TrainingDataError(f"{where}: malformed search graph ({exc})") from None
        self.theorem = (data.get("theorem") or {}).get("name", "")

    def distances(self) -> dict[int, int]:
        """Steps from each node to a ``proof`` node (breadth-first over reversed edges)."""
        back: dict[int, list[int]] = defaultdict(list)
        for u, v, _ in self.edges:
            back[v].append(u)
        dist = {n: 0 for n, d in self.nodes.items() if d.get("kind") == "proof"}
        queue = deque(dist)
        while queue:
            v = queue.popleft()
            for u in back[v]:
                if u not in dist:
                    dist[u] = dist[v] + 1
                    queue.append(u)
        return dist

    def proof_path(self) -> list[tuple[int, int, str]]:
        """The edges of one shortest proof from the root (empty when the tree holds none)."""
        dist = self.distances()
        if self.root not in dist:
            return []
        out, node = [], self.root
        while dist.get(node, 0) > 0:
            step = next(
                (u, v, t) for u, v, t in self.edges if u == node and dist.get(v, -1) == dist[node] - 1
            )
            out.append(step)
            node = step[1]
        return out

    def goals(self, node: int) -> list[str]:
        return list(self.nodes[node].get("goals") or [])


def _read_tree(path: Path) -> SavedTree:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingDataError(f"{path}: unreadable search graph: {exc}") from None
    return SavedTree(data, str(path))


def _run_records(run_dir: str | Path) -> tuple[Path, list[Any], Provenance]:
    """A run directory's absolute path, its result records and the provenance its records carry."""
    from prover.evaluation.results import RESULTS, RunError, read_results

    root = Path(run_dir).resolve()
    meta = _run_meta(root)
    try:
        records = read_results(root / RESULTS).records
    except RunError as exc:
        raise TrainingDataError(str(exc)) from None
    simulated = is_simulation(meta)
    judge = meta.get("judge")
    prov = Provenance(
        source="prove-run",
        origin=str(root),
        lean=meta.get("lean"),
        mathlib=meta.get("mathlib"),
        run_id=f"{root.name}@{meta.get('created', '')}",
        judge="simulation" if simulated else (str(judge) if judge else None),
        simulation=simulated,
    )
    return root, records, prov


def is_simulation_run(run_dir: str | Path) -> bool:
    """Were the proofs of the ``prover prove`` run in ``run_dir`` judged by a simulation (a scripted world or
    another double), not Lean? Read off its ``run.json`` (:func:`prover.evaluation.versions.is_simulation`)."""
    return is_simulation(_run_meta(Path(run_dir)))


def proofs_from_run_dir(run_dir: str | Path) -> list[ProofExample]:
    """The whole proof of every proved problem of a run (tree search or whole-proof sampling alike).

    Needs no saved tree: the record holds the statement, header and the verified tactic script, which is
    all whole-proof training reads. ``proof`` is the checked declaration, as for ``prover synth`` samples.
    """
    from prover.lean.types import Theorem

    _, records, prov = _run_records(run_dir)
    out = []
    for rec in records:
        if not rec.proved or not rec.proof or not rec.statement.strip():
            continue
        theorem = Theorem(rec.theorem, rec.statement, rec.header)
        out.append(
            ProofExample(
                theorem=rec.problem,
                provenance=prov,
                statement=rec.statement,
                proof=theorem.with_proof(rec.proof),
                name=rec.theorem,
                header=rec.header,
            )
        )
    return out


def from_run_dir(run_dir: str | Path) -> tuple[list[TacticExample], list[CriticExample]]:
    """The proved path of every solved (and verified) problem, and critic labels from its saved tree.

    Without a saved tree, a solved problem contributes nothing (its proof text alone has no states). Critic
    labels come from solved problems only: in an unsolved tree "no proof found" does not mean "unprovable".
    """
    root, records, prov = _run_records(run_dir)
    tactics: list[TacticExample] = []
    critic: list[CriticExample] = []
    for rec in records:
        if not rec.proved or not rec.tree:
            continue
        tree_path = Path(rec.tree)
        if not tree_path.is_absolute():
            tree_path = root / tree_path
        if not tree_path.is_file():
            continue
        tree = _read_tree(tree_path)
        for u, v, tactic in tree.proof_path():
            after = tree.goals(v) if tree.nodes[v].get("kind") == "state" else []
            tactics.append(
                TacticExample(
                    theorem=rec.problem, provenance=prov, goals=tree.goals(u), tactic=tactic, after=after
                )
            )
        dist = tree.distances()
        for n, node in tree.nodes.items():
            if node.get("kind") != "state" or not node.get("goals"):
                continue
            d = dist.get(n)
            critic.append(
                CriticExample(
                    theorem=rec.problem,
                    provenance=prov,
                    goals=list(node["goals"]),
                    on_proof=d is not None,
                    distance=None if d is None else max(1, min(MAX_DISTANCE, d)),
                )
            )
    return tactics, critic


def tree_tactic_stats(run_dir: str | Path) -> dict[str, tuple[int, int]]:
    """``tactic -> (times tried, times on a proof)`` over every saved tree of a run (for curation)."""
    from prover.training.records import normalise

    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path in sorted((Path(run_dir) / "trees").glob("*.json")):
        tree = _read_tree(path)
        dist = tree.distances()
        for u, v, tactic in tree.edges:
            key = normalise(tactic)
            stats[key][0] += 1
            if u in dist and dist.get(v, -1) == dist[u] - 1:
                stats[key][1] += 1
    return {k: (a, b) for k, (a, b) in stats.items()}


def from_leandojo(
    root: str | Path, scheme: str = "random"
) -> tuple[list[TacticExample], list[PremiseExample]]:
    """LeanDojo Benchmark 4 (``leandojo_benchmark_4/``): tactics and used premises, split as published."""
    base = Path(root)
    files = [(sp, p) for sc, sp, p in leandojo_split_files(base) if sc == scheme]
    if not files:
        raise TrainingDataError(f"{base}: no LeanDojo split files {scheme}/{{train,val,test}}.json")
    tactics: list[TacticExample] = []
    premises: list[PremiseExample] = []
    for split_name, path in files:
        split: Split = "val" if split_name == "val" else "test" if split_name == "test" else "train"
        try:
            theorems = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TrainingDataError(f"{path}: not a LeanDojo split file: {exc}") from None
        if not isinstance(theorems, list):
            raise TrainingDataError(f"{path}: expected a JSON list of theorems")
        for i, thm in enumerate(theorems):
            where = f"{path}[{i}]"
            if not isinstance(thm, dict) or not isinstance(thm.get("full_name"), str):
                raise TrainingDataError(f"{where}: a theorem needs a 'full_name'")
            prov = Provenance(
                source="leandojo",
                origin=str(path.resolve()),
                run_id=f"{thm.get('url', '')}@{thm.get('commit', '')}",
            )
            name = f"{thm.get('file_path', '')}:{thm['full_name']}"
            for j, step in enumerate(thm.get("traced_tactics") or []):
                if not isinstance(step, dict):
                    raise TrainingDataError(f"{where}.traced_tactics[{j}]: expected an object")
                tactic, before, after = step.get("tactic"), step.get("state_before"), step.get("state_after")
                if not isinstance(tactic, str) or not isinstance(before, str) or not before.strip():
                    raise TrainingDataError(f"{where}.traced_tactics[{j}]: needs 'tactic' and 'state_before'")
                goals = before.split("\n\n")
                after_goals = [] if after in (None, "no goals") else str(after).split("\n\n")
                used, used_files = _annotated_premises(step.get("annotated_tactic"))
                tactics.append(
                    TacticExample(
                        theorem=name,
                        split=split,
                        provenance=prov,
                        goals=goals,
                        tactic=tactic,
                        after=after_goals,
                        premises=used,
                    )
                )
                if used:
                    premises.append(
                        PremiseExample(
                            theorem=name,
                            split=split,
                            provenance=prov,
                            goals=goals,
                            premises=used,
                            premise_files=used_files,
                            file=thm.get("file_path"),
                        )
                    )
    return tactics, premises


def _annotated_premises(annotated: Any) -> tuple[list[str], list[str]]:
    """``annotated_tactic = [text, [{full_name, def_path, ...}, ...]]`` -> (names, their files)."""
    if not isinstance(annotated, list) or len(annotated) < 2 or not isinstance(annotated[1], list):
        return [], []
    names, files = [], []
    for prov in annotated[1]:
        if isinstance(prov, dict) and isinstance(prov.get("full_name"), str):
            names.append(prov["full_name"])
            files.append(str(prov.get("def_path", "")))
    return names, files


def from_synth_dir(run_dir: str | Path) -> list[ProofExample]:
    """(statement, proof) pairs of a ``prover synth`` run directory: its *verified* samples / variants only.

    MUSTARD (``samples.jsonl``): a sample's ``attempts`` are the model's repairs, each checked as a whole
    declaration; none records the states in between, so it gives whole-proof data. A rejected attempt is not a
    negative example either (it may be wrong in its statement, not its proof), so it is skipped. The sample's
    degeneracy ``labels`` (trivial conclusion, contradictory hypotheses) are kept for curation to filter.
    Alchemy (``targets.jsonl`` checkpoints): each verified variant, under its target's name (the split key, so
    the variants of one theorem stay on one side); its state-tactic pairs come from :func:`synth_tactics`.
    """
    root = Path(run_dir)
    if (root / "samples.jsonl").is_file():
        return _mustard_proofs(root)
    if (root / ALCHEMY_TARGETS).is_file():
        return _alchemy_proofs(root)
    raise TrainingDataError(
        f"{root}: not a `prover synth` run directory (no samples.jsonl from mustard, no {ALCHEMY_TARGETS} "
        "from alchemy)"
    )


#: Alchemy's per-target checkpoints and its state-tactic pairs (``prover.synthesis.alchemy``'s file names)
ALCHEMY_TARGETS = "targets.jsonl"
ALCHEMY_TACTICS = "tactics.jsonl"


def synth_tactics(run_dir: str | Path) -> list[TacticExample]:
    """The (state, tactic) pairs of a synthesis run: Alchemy replays every verified variant step by step
    (``tactics.jsonl``, source ``alchemy-<variant>/<target>``); MUSTARD records none."""
    path = Path(run_dir) / ALCHEMY_TACTICS
    if not (Path(run_dir) / ALCHEMY_TARGETS).is_file() or not path.is_file():
        return []
    out = from_tactic_jsonl(path)
    for r in out:
        r.provenance = r.provenance.model_copy(update={"source": "alchemy"})
    return out


def _mustard_proofs(root: Path) -> list[ProofExample]:
    out = []
    for where, obj in json_object_lines(root / "samples.jsonl"):
        if isinstance(obj, BadLine):
            raise TrainingDataError(obj.describe())
        if obj.get("verdict") != "verified":
            continue
        statement, proof = obj.get("formal_statement"), obj.get("formal_proof")
        if not isinstance(statement, str) or not isinstance(proof, str) or not statement or not proof:
            raise TrainingDataError(f"{where}: a verified sample without formal_statement / formal_proof")
        labels = obj.get("labels") or []
        out.append(
            ProofExample(
                theorem=f"synth:{root.resolve().name}#{obj.get('id')}",
                provenance=Provenance(
                    source="synth",
                    origin=str(root.resolve()),
                    lean=obj.get("lean"),
                    mathlib=obj.get("mathlib"),
                    run_id=f"{root.resolve().name}#{obj.get('id')}",
                ),
                statement=statement,
                proof=proof,
                informal=obj.get("problem"),
                name=obj.get("name") if isinstance(obj.get("name"), str) else None,
                header=str(obj["header"]) if isinstance(obj.get("header"), str) else "",
                labels=[str(x) for x in labels] if isinstance(labels, list) else [],
            )
        )
    return out


def _alchemy_proofs(root: Path) -> list[ProofExample]:
    out = []
    prov = Provenance(source="alchemy", origin=str(root.resolve()), run_id=root.resolve().name)
    for where, obj in json_object_lines(root / ALCHEMY_TARGETS):
        if isinstance(obj, BadLine):
            raise TrainingDataError(obj.describe())
        header = str(obj["header"]) if isinstance(obj.get("header"), str) else ""
        for v in obj.get("variants") or []:
            if not isinstance(v, dict) or not v.get("verified"):
                continue
            name, statement, proof = v.get("name"), v.get("statement"), v.get("proof")
            if not (
                isinstance(name, str) and isinstance(statement, str) and isinstance(proof, str)
            ) or not all((name, statement, proof)):
                raise TrainingDataError(f"{where}: a verified variant without name / statement / proof")
            out.append(
                ProofExample(
                    theorem=str(obj.get("target") or name),
                    provenance=prov,
                    statement=statement,
                    proof=Theorem(name, statement).with_proof(proof),
                    name=name,
                    header=header,
                )
            )
    return out
