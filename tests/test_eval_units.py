"""Loaders, manifest/fetch, results store and pass@k: the evaluation layer's parts without Lean or search."""

from __future__ import annotations

import json
import sys
from math import comb
from pathlib import Path

import pytest

from prover.evaluation.benchmarks import (
    load_formalmath_json,
    load_path,
    load_theorems_jsonl,
    minif2f_category,
    select,
)
from prover.evaluation.fetch import FetchError, fetch
from prover.evaluation.manifest import ManifestEntry, load_manifest
from prover.evaluation.passk import k_values, mean_pass_at_k, pass_at_k
from prover.evaluation.results import AttemptRecord, ResultStore, read_results
from prover.files import file_sha256


def test_pass_at_k_matches_hand_computed_values() -> None:
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 10, 5) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - 3 / 6)  # 1 - C(3,2)/C(4,2)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)
    assert pass_at_k(3, 2, 2) == 1.0  # n - c < k
    big = pass_at_k(1000, 3, 100)
    assert big == pytest.approx(1 - comb(997, 100) / comb(1000, 100), rel=1e-12)
    assert mean_pass_at_k([(4, 1), (4, 0)], 1) == pytest.approx(0.125)
    assert k_values(32) == [1, 2, 4, 8, 16, 32] and k_values(6) == [1, 2, 4, 6]
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def test_minif2f_categories() -> None:
    assert minif2f_category("amc12a_2019_p21") == "amc"
    assert minif2f_category("aimeII_2001_p3") == "aime"
    assert minif2f_category("mathd_numbertheory_5") == "mathd_numbertheory"
    assert minif2f_category("induction_1pxpownlt1pnx") == "induction"
    assert minif2f_category("imo_1959_p1") == "imo"


def test_malformed_entries_are_reported_by_name(tmp_path: Path) -> None:
    f = tmp_path / "b.jsonl"
    f.write_text(
        json.dumps(
            {
                "name": "good",
                "header": "import Mathlib\n",
                "formal_statement": "theorem good : 1 = 1 := by sorry",
            }
        )
        + "\n{not json\n"
        + json.dumps({"name": "noproof", "formal_statement": "theorem noproof : 1 = 1"})
        + "\n"
        + json.dumps({"name": "good", "formal_statement": "theorem good : 2 = 2 := by sorry"})
        + "\n",
        encoding="utf-8",
    )
    report = load_theorems_jsonl(f, "b")
    assert [p.id for p in report.problems] == ["good"]
    reasons = dict(report.skipped)
    assert "b.jsonl:2" in reasons and "noproof" in reasons and reasons["good"] == "duplicate problem id"
    assert report.problems[0].theorem.statement == "theorem good : 1 = 1"


def test_formalmath_header_split_and_defs(tmp_path: Path) -> None:
    data = [
        {
            "theorem_names": "fm_1",
            "domain": "Mathematics -> Number Theory -> Primes;",
            "autoformalization": "import Mathlib\n\nopen Real\n\ndef f (x : ℕ) : ℕ := x + 1\n\n"
            "/-- doc -/\ntheorem fm_1 (x : ℕ) : f x > x := by",
        },
        {
            "theorem_names": "fm_2",
            "domain": "algebra",
            "autoformalization": "import Mathlib\n-- no theorem\n",
        },
    ]
    path = tmp_path / "fm.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    report = load_formalmath_json(path, "fm")
    (p,) = report.problems
    assert p.theorem.statement == "/-- doc -/\ntheorem fm_1 (x : ℕ) : f x > x"
    assert "def f (x : ℕ)" in p.theorem.header and p.theorem.header.startswith("import Mathlib")
    assert p.category == "Number Theory"
    assert report.skipped and report.skipped[0][0] == "fm_2"


def test_lean_file_loader_keeps_proved_lemmas_in_header(tmp_path: Path) -> None:
    path = tmp_path / "T.lean"
    path.write_text(
        "import Mathlib\nopen Nat\n\nlemma helper : 1 = 1 := rfl\n\n"
        "theorem a (n : ℕ) : n = n := by sorry\n\ntheorem b : 2 = 2 := by\n",
        encoding="utf-8",
    )
    report = load_path(path)
    assert [p.id for p in report.problems] == ["a", "b"]
    assert "lemma helper" in report.problems[1].theorem.header
    assert "theorem a" not in report.problems[1].theorem.header
    assert select(report.problems, limit=1)[0].id == "a"


@pytest.mark.shared
def test_shared_benchmarks_load_without_error(shared_data: Path) -> None:
    mf = load_path(shared_data / "minif2f" / "minif2f-lean4-v4.24.0.jsonl")
    ds = load_path(shared_data / "minif2f" / "minif2f-deepseek-prover-v1.5.jsonl")
    fm = load_path(shared_data / "formalmath" / "FormalMATH-Lite.json")
    for report, n in ((mf, 488), (ds, 488), (fm, 425)):
        assert report.skipped == [] and len(report.problems) == n
    assert len(select(mf.problems, split="test")) == 244 and len(select(ds.problems, split="valid")) == 244
    assert all(
        not p.theorem.statement.endswith(("sorry", ":=", "by"))
        for p in mf.problems + ds.problems + fm.problems
    )
    assert {p.category for p in mf.problems} <= {
        "aime",
        "amc",
        "imo",
        "mathd_algebra",
        "mathd_numbertheory",
        "induction",
        "algebra",
        "numbertheory",
    }


@pytest.mark.shared
def test_fetch_from_local_copy_checks_checksum(shared_data: Path, tmp_path: Path) -> None:
    entry = load_manifest().get("minif2f")
    path = fetch(entry, from_path=shared_data / entry.local_copy, root=tmp_path)
    assert path.is_file() and file_sha256(path) == entry.sha256
    bad = tmp_path / "bad.jsonl"
    bad.write_text((shared_data / entry.local_copy).read_text(encoding="utf-8")[:-10], encoding="utf-8")
    with pytest.raises(FetchError, match="checksum mismatch"):
        fetch(entry, from_path=bad, root=tmp_path / "other")


def test_fetch_downloads_by_url_and_rejects_wrong_count(tmp_path: Path) -> None:
    src = tmp_path / "src.jsonl"
    src.write_text(
        json.dumps({"name": "x", "formal_statement": "theorem x : 1 = 1 := by sorry"}) + "\n",
        encoding="utf-8",
    )
    entry = ManifestEntry(
        name="tiny",
        kind="benchmark",
        description="d",
        source_url="u",
        revision="r",
        files=[],
        licence="MIT",
        expected_count=1,
        sha256=file_sha256(src),
        format="minif2f_jsonl",
        download="file",
        url=src.as_uri(),
        filename="tiny.jsonl",
    )
    assert fetch(entry, root=tmp_path / "cache").read_text(encoding="utf-8") == src.read_text(
        encoding="utf-8"
    )
    wrong = entry.model_copy(update={"expected_count": 2, "name": "tiny2"})
    with pytest.raises(FetchError, match="expects 2"):
        fetch(wrong, root=tmp_path / "cache")


def _record(name: str) -> AttemptRecord:
    return AttemptRecord(problem=name, theorem=name, status="failed", budget="1×8×100", time_s=0.1)


def test_store_tolerates_torn_last_line_and_never_duplicates(tmp_path: Path) -> None:
    with ResultStore(tmp_path) as store:
        store.append(_record("a"))
        store.append(_record("a"))
    with (tmp_path / "results.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"problem": "b", "theo')  # killed mid-write
    assert read_results(tmp_path / "results.jsonl").torn_tail
    with ResultStore(tmp_path) as store:
        assert store.finished == {"a"}
        store.append(_record("b"))
    lines = (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["problem"] for line in lines] == ["a", "b"]


def test_executor_settings_are_a_discriminated_union_with_one_sentence_errors() -> None:
    """``executor`` picks its model by ``name`` through the shared discriminated-union loader
    (``prover.settings.load_one_of``); each mistake is one sentence naming ``executor.KEY``."""
    from prover.evaluation.executors import (
        ExecutorConfigError,
        LocalExecutorSettings,
        RayExecutorSettings,
        executor_settings,
    )

    assert executor_settings(None) == LocalExecutorSettings()
    ray = executor_settings({"name": "ray", "workers": 3})
    assert isinstance(ray, RayExecutorSettings) and ray.workers == 3
    for bad, message in [
        ({"name": "rai"}, "unknown executor 'rai'; choose one of: local, ray"),
        ({"name": "ray", "workers": 0}, "executor.workers: Input should be greater than 0, got 0"),
        ({"workerz": 1}, "unknown key executor.workerz (known keys: name, workers)"),
    ]:
        with pytest.raises(ExecutorConfigError) as err:
            executor_settings(bad)
        assert str(err.value) == message


def test_a_run_worker_without_preflight_is_one_sentence_not_an_attribute_error() -> None:
    from prover.evaluation.executors import ExecutorConfigError, worker_preflight

    class NoPreflight:
        def run(self, job: dict) -> None: ...

        def close(self) -> None: ...

    with pytest.raises(ExecutorConfigError, match="worker NoPreflight has no preflight"):
        worker_preflight(NoPreflight())

    class WithPreflight(NoPreflight):
        def preflight(self, job: dict) -> float:
            return 1.5

    assert worker_preflight(WithPreflight())({}) == 1.5


def test_a_worker_dying_in_the_preflight_of_a_script_names_the_main_guard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From a script without ``if __name__ == "__main__":`` every spawned worker dies on import; the message
    says so instead of blaming memory alone."""
    import types

    from prover.evaluation import executors

    script = types.ModuleType("__main__")
    script.__file__ = "/home/me/myrun.py"
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert "myrun.py starting the run when it is imported" in executors._died_in_preflight()
    assert '`if __name__ == "__main__":`' in executors._died_in_preflight()
    script.__file__ = "/usr/bin/prover"
    assert (
        executors._died_in_preflight()
        == "the worker process died during the preflight (a crash, or out of memory)"
    )


def test_pool_workers_follow_the_drivers_verbosity_and_progress_switch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`prover prove -v` with process workers: a spawned worker starts with Python's logging defaults, so the
    driver's level (and `--no-progress`) travel in the pool's initializer arguments."""
    import logging

    from prover import progress
    from prover.evaluation import executors

    root = logging.getLogger()
    before = root.level
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", before)
    monkeypatch.setitem(progress._STATE, "enabled", True)
    executors._follow_the_driver(logging.WARNING, False)
    assert not progress.enabled() and root.level == before  # the default: nothing to change
    executors._follow_the_driver(logging.INFO, True)
    assert progress.enabled() and root.level == logging.INFO
    executors._follow_the_driver(logging.DEBUG, True)
    assert root.level == logging.DEBUG
    pool = executors.LocalExecutor(1)._pool(executors.WorkerSpec("x:y", {}))
    try:
        assert pool._initargs[2] == root.getEffectiveLevel() and pool._initargs[3] is True  # type: ignore[attr-defined]
    finally:
        pool.shutdown()
