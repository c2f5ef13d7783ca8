"""Training data: tactic JSONL, `prover prove` run dirs and saved trees, LeanDojo; splits by theorem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.training.build import BuildInputs, build, split_of
from prover.training.records import (
    CriticExample,
    ProofExample,
    TacticExample,
    TrainingDataError,
    read_records,
)
from prover.training.sources import from_leandojo, from_run_dir

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "tactics" / "fps-search-proof-steps.jsonl"


def write_tactics(path: Path, problems: int = 30) -> Path:
    """Two provers proving the same problems, two steps each (the FPS steps file's layout)."""
    lines = []
    for run in ("leanstar", "internlm"):
        for i in range(problems):
            src = f"{run}/proving.sample#{i}"
            lines.append(
                {
                    "source": src,
                    "step": 0,
                    "goals": [f"x : ℕ\n⊢ x + {i} = {i} + x"],
                    "goal_id": 0,
                    "tactic": "rw [Nat.add_comm]",
                }
            )
            lines.append(
                {
                    "source": src,
                    "step": 1,
                    "goals": [f"x : ℕ\n⊢ {i} + x = {i} + x"],
                    "goal_id": 0,
                    "tactic": "rfl",
                }
            )
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return path


def test_tactic_jsonl_split_keeps_each_problem_on_one_side(tmp_path: Path) -> None:
    src = write_tactics(tmp_path / "steps.jsonl")
    summary = build(BuildInputs(tactic_files=[src], lean="v4.15.0"), tmp_path / "data", val=0.2, test=0.2)
    records = read_records(tmp_path / "data" / "tactic.jsonl", TacticExample)
    assert summary["tasks"]["tactic"]["records"] == len(records) == 120
    sides: dict[str, set[str]] = {}
    for r in records:
        sides.setdefault(r.theorem, set()).add(r.split)
    # both provers' proofs of one problem share the theorem key, and every theorem lies on one side only
    assert len(sides) == 30 and all(len(s) == 1 for s in sides.values())
    assert {"train", "val", "test"} <= {s for v in sides.values() for s in v}
    first = records[0]
    assert first.provenance.source == "tactic-jsonl" and first.provenance.lean == "v4.15.0"
    assert first.provenance.run_id == "leanstar" and first.after == [records[1].goals[0]]
    assert records[1].after is None  # last step: the state after is not recorded
    assert split_of("a", 0.3, 0.3) == split_of("a", 0.3, 0.3)


def write_tree_run(run: Path) -> None:
    """A run dir with one solved problem whose tree has an on-proof path and a failed sibling state."""
    (run / "trees").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"lean": "v4.24.0", "mathlib": "v4.24.0", "created": 1.5}))
    nodes = [
        {
            "id": 0,
            "kind": "state",
            "status": "proved",
            "goals": ["⊢ A"],
            "depth": 0,
            "logprob": 0.0,
            "expanded": True,
        },
        {
            "id": 1,
            "kind": "state",
            "status": "open",
            "goals": ["⊢ B"],
            "depth": 1,
            "logprob": -1.0,
            "expanded": True,
        },
        {
            "id": 2,
            "kind": "state",
            "status": "proved",
            "goals": ["⊢ C", "⊢ D"],
            "depth": 1,
            "logprob": -1.0,
            "expanded": True,
        },
        {
            "id": 3,
            "kind": "state",
            "status": "proved",
            "goals": ["⊢ D"],
            "depth": 2,
            "logprob": -1.0,
            "expanded": True,
        },
        {
            "id": 4,
            "kind": "proof",
            "status": "proved",
            "goals": [],
            "depth": 3,
            "logprob": -1.0,
            "expanded": False,
        },
    ]
    edges = [(0, 1, "tac_b"), (0, 2, "tac_c"), (2, 3, "close_c"), (3, 4, "close_d"), (1, 1, "skip")]
    tree = {
        "format": "lean-prover-search-graph",
        "version": 1,
        "theorem": {"name": "t1", "statement": "theorem t1 : A", "header": ""},
        "root": 0,
        "proof": ["tac_c", "close_c", "close_d"],
        "stats": {},
        "nodes": nodes,
        "edges": [
            {"source": u, "target": v, "tactic": t, "logprob": -1.0, "cycle": u == v} for u, v, t in edges
        ],
    }
    (run / "trees" / "t1.json").write_text(json.dumps(tree))
    base = {"theorem": "t1", "budget": "1", "time_s": 0.1}
    lines = [
        {**base, "problem": "t1", "status": "proved", "proof": "tac_c", "tree": "trees/t1.json"},
        {**base, "problem": "t2", "theorem": "t2", "status": "failed"},
    ]
    (run / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_run_dir_gives_proved_path_and_critic_labels(tmp_path: Path) -> None:
    write_tree_run(tmp_path / "run")
    tactics, critic = from_run_dir(tmp_path / "run")
    assert [(t.goals, t.tactic, t.after) for t in tactics] == [
        (["⊢ A"], "tac_c", ["⊢ C", "⊢ D"]),
        (["⊢ C", "⊢ D"], "close_c", ["⊢ D"]),
        (["⊢ D"], "close_d", []),
    ]
    labels = {tuple(c.goals): (c.on_proof, c.distance) for c in critic}
    assert labels == {
        ("⊢ A",): (True, 3),
        ("⊢ B",): (False, None),
        ("⊢ C", "⊢ D"): (True, 2),
        ("⊢ D",): (True, 1),
    }
    assert tactics[0].provenance.source == "prove-run" and tactics[0].provenance.lean == "v4.24.0"


def test_scripted_prove_run_builds_training_data(tmp_path: Path) -> None:
    from test_eval_end_to_end import overrides, write_world

    world, bench = write_world(tmp_path)
    run = tmp_path / "run"
    assert (
        main(
            [
                "prove",
                "--out",
                str(run),
                "--no-progress",
                "--save-trees",
                *overrides(world, bench, "executor.workers=0"),
            ]
        )
        == 0
    )
    # a scripted world's run is a simulation: refused unless asked for (tests/test_train_provenance.py)
    build_train = ["data", "build-train", "--out", str(tmp_path / "data"), "--run", str(run)]
    assert main(build_train) == 2
    assert main([*build_train, "--allow-simulation"]) == 0
    tactics = read_records(tmp_path / "data" / "tactic.jsonl", TacticExample)
    critic = read_records(tmp_path / "data" / "critic.jsonl", CriticExample)
    by_problem = {}
    for t in tactics:
        by_problem.setdefault(t.theorem, []).append(t.tactic)
    # only verified proofs count: the "unverified" sorry cheat contributes nothing
    assert by_problem == {
        "mathd_algebra_1": ["simp"],
        "amc12_and": ["constructor", "assumption", "assumption"],
    }
    assert max(c.distance or 0 for c in critic) == 3 and all(c.on_proof for c in critic)
    # every verified proof is also a whole-proof record: statement + header -> the checked tactic script
    proofs = {p.theorem: p for p in read_records(tmp_path / "data" / "proof.jsonl", ProofExample)}
    assert sorted(proofs) == ["amc12_and", "mathd_algebra_1"]
    conj = proofs["amc12_and"]
    assert conj.script() == "constructor\nassumption\nassumption" and conj.header == "import Mathlib\n"
    assert conj.lean_theorem().name == "amc12_and" and conj.proof.startswith(conj.statement + " := by\n")
    assert conj.provenance.source == "prove-run" and conj.provenance.simulation


def test_leandojo_traced_tactics_keep_published_split(tmp_path: Path) -> None:
    root = tmp_path / "leandojo_benchmark_4"
    (root / "random").mkdir(parents=True)
    thm = {
        "url": "https://example.org/mathlib4",
        "commit": "abc123",
        "file_path": "Mathlib/Foo.lean",
        "full_name": "foo_add",
        "start": [1, 1],
        "end": [3, 1],
        "traced_tactics": [
            {
                "tactic": "rw [add_comm]",
                "state_before": "a b : ℕ\n⊢ a + b = b + a",
                "state_after": "no goals",
                "annotated_tactic": [
                    "rw [<a>add_comm</a>]",
                    [
                        {
                            "full_name": "add_comm",
                            "def_path": "Mathlib/Algebra/Group/Defs.lean",
                            "def_pos": [1, 1],
                            "def_end_pos": [1, 9],
                        }
                    ],
                ],
            },
            {
                "tactic": "constructor",
                "state_before": "⊢ p ∧ q",
                "state_after": "case left\n⊢ p\n\ncase right\n⊢ q",
                "annotated_tactic": ["constructor", []],
            },
        ],
    }
    (root / "random" / "val.json").write_text(json.dumps([thm]))
    (root / "random" / "train.json").write_text(json.dumps([{**thm, "full_name": "bar"}]))
    tactics, premises = from_leandojo(root)
    assert {(t.theorem, t.split) for t in tactics} == {
        ("Mathlib/Foo.lean:foo_add", "val"),
        ("Mathlib/Foo.lean:bar", "train"),
    }
    assert tactics[0].after == [] and tactics[1].after == ["case left\n⊢ p", "case right\n⊢ q"]
    assert [p.premises for p in premises] == [["add_comm"], ["add_comm"]]
    assert premises[0].premise_files == ["Mathlib/Algebra/Group/Defs.lean"]
    assert tactics[0].provenance.run_id == "https://example.org/mathlib4@abc123"
    summary = build(BuildInputs(leandojo=root), tmp_path / "data", val=0.5, test=0.4)
    assert summary["tasks"]["premise"]["splits"] == {"val": 1, "train": 1}  # published, not re-hashed


def test_bad_inputs_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source": "a", "goals": [], "tactic": "simp"}\n')
    assert main(["data", "build-train", "--out", str(tmp_path / "d"), "--tactics", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl:1" in err and "Traceback" not in err
    assert main(["data", "build-train", "--out", str(tmp_path / "d")]) == 2
    assert "nothing to build from" in capsys.readouterr().err
    assert main(["data", "build-train", "--out", str(tmp_path / "d"), "--run", str(tmp_path)]) == 2
    assert "not a `prover prove` run directory" in capsys.readouterr().err
    with pytest.raises(TrainingDataError, match="does not exist"):
        read_records(tmp_path / "none.jsonl", TacticExample)


@pytest.mark.skipif(not SHARED.is_file(), reason="../shared reference data not present")
def test_shared_fps_steps_split_by_problem(tmp_path: Path) -> None:
    summary = build(BuildInputs(tactic_files=[SHARED]), tmp_path / "data")
    tactic = summary["tasks"]["tactic"]
    # 2,403 steps from two provers on 995 distinct problems
    assert tactic["records"] == 2403 and tactic["theorems"] == 995
