"""MUSTARD with ``workers > 1``: each worker process checks through its own Lean session, in parallel, and a run
killed in the middle resumes to a complete, append-only ``samples.jsonl``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prover.cli.main import main
from prover.synthesis.fake_endpoint import FakeEndpoint

REPO = Path(__file__).resolve().parent.parent
WORLD = REPO / "tests/data/synth/world.json"
GOAL = "n : ℕ\nh : 0 < n\n⊢ 1 ≤ n"
GOOD = (
    (REPO / "tests/test_synth_mustard.py").read_text(encoding="utf-8").split('GOOD = """')[1].split('"""')[0]
)


def _slow_world(tmp_path: Path, delay_ms: int) -> Path:
    """The synthesis world where the good proof's ``omega`` takes ``delay_ms`` (a slow Lean check)."""
    world = json.loads(WORLD.read_text(encoding="utf-8"))
    world["goals"][GOAL]["omega"]["delay_ms"] = delay_ms
    path = tmp_path / "slow-world.json"
    path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    return path


def _args(ep: FakeEndpoint, world: Path, out: Path, num: int, workers: int) -> list[str]:
    return [
        "synth", "mustard", "--out", str(out), "--num", str(num),
        "backend=scripted", f"backend.world={world}", "backend.tactic_timeout_s=20",
        f"synth.llm.base_url={ep.base_url}", "synth.llm.model=fake", "synth.llm.retries=0",
        "synth.fixed_concepts=[\"Bezout's identity\"]", f"synth.workers={workers}",
    ]  # fmt: skip


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux ``/proc``; empty elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _records(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


def test_two_workers_check_in_parallel_each_through_its_own_session(tmp_path: Path) -> None:
    world = _slow_world(tmp_path, 1500)
    out = tmp_path / "run"
    with FakeEndpoint([], default=GOOD) as ep:
        assert main(_args(ep, world, out, 4, 2)) == 0
    records = _records(out)
    assert sorted(r["id"] for r in records) == [0, 1, 2, 3]
    assert all(r["verdict"] == "verified" for r in records)
    spans = [(a["checked_at"], a["checked_at"] + a["check_s"]) for r in records for a in r["attempts"]]
    assert all(end - start >= 1.4 for start, end in spans)  # the slow check really ran in each sample
    # checks of different samples were under way at the same moment: with one shared, locked session (as
    # before) they could not be; 4 samples on 2 workers keep this true when one worker process starts late
    overlapping = [
        (a, b) for i, a in enumerate(spans) for b in spans[i + 1 :] if max(a[0], b[0]) < min(a[1], b[1])
    ]
    assert overlapping


@pytest.mark.slow
def test_a_killed_parallel_run_resumes_to_every_sample_exactly_once(tmp_path: Path) -> None:
    world = _slow_world(tmp_path, 700)
    out = tmp_path / "run"
    with FakeEndpoint([], default=GOOD) as ep:
        args = _args(ep, world, out, 8, 2)
        proc = subprocess.Popen(
            [sys.executable, "-m", "prover.cli.main", *args],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            path = out / "samples.jsonl"
            while time.monotonic() < deadline:
                if path.is_file() and len(path.read_bytes().splitlines()) >= 2:
                    break
                assert proc.poll() is None, "the run ended before it could be killed"
                time.sleep(0.1)
            pool = _children(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)  # the driver only: its pool processes must die with it
            proc.wait(timeout=30)
            gone_by = time.monotonic() + 30
            while any(_alive(p) for p in pool) and time.monotonic() < gone_by:
                time.sleep(0.2)
            assert not [p for p in pool if _alive(p)], "worker processes outlived their driver"
        finally:
            if proc.poll() is None:
                proc.kill()
        before = _records(out)
        assert 2 <= len(before) < 8
        # the run directory is free again at once (the lock died with the driver) and resumes
        assert main(args) == 0
    after = _records(out)
    assert after[: len(before)] == before  # append-only: nothing written before the kill was rewritten
    assert sorted(r["id"] for r in after) == list(range(8))
    assert all(r["verdict"] == "verified" for r in after)
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert len(meta["resumes"]) == 1
