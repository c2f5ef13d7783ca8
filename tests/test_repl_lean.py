"""The REPL client against a real `lake env repl` (run `make lean` first); skipped without a Lean toolchain."""

from __future__ import annotations

import pytest

from prover.config import compose
from prover.lean.factory import make_session
from prover.lean.repl_process import ReplProcess
from prover.lean.types import ProofFinished, TacticError, TacticState, Theorem, Timeout

pytestmark = [pytest.mark.lean, pytest.mark.slow]


@pytest.fixture(scope="module")
def backend_cfg(repo_root):
    cfg = compose(["backend=repl", "backend.pool_size=2", "backend.tactic_timeout_s=20"]).backend
    if not (repo_root / str(cfg.project_dir) / ".lake" / "packages" / "REPL").is_dir():
        pytest.skip("the REPL is not built (run `make lean`)")
    return cfg


def test_real_repl_steps_errors_and_completion(backend_cfg):
    with make_session(backend_cfg) as session:
        thm = Theorem("t", "theorem t (n : ℕ) : n + 0 = n")
        root = session.start(thm)
        assert isinstance(root, TacticState) and root.goals == ("n : ℕ\n⊢ n + 0 = n",)
        assert isinstance(session.run_tactic(root, "exact foo_bar_baz"), TacticError)
        results = session.run_tactics([(root, "induction n"), (root, "simp"), (root, "omega")])
        assert isinstance(results[0], TacticState) and len(results[0].goals) == 2
        assert isinstance(results[1], ProofFinished) and isinstance(results[2], ProofFinished)


def test_real_repl_timeout_then_recovery(backend_cfg):
    cfg = dict(backend_cfg)
    cfg["tactic_timeout_s"] = 2.0
    cfg["pool_size"] = 1
    with make_session(cfg) as session:
        root = session.start(Theorem("loop", "theorem loop : True"))
        assert isinstance(root, TacticState)
        slow = session.run_tactic(root, "repeat (have : 1 = 1 := rfl)")
        assert isinstance(slow, Timeout | TacticError)
        assert isinstance(session.run_tactic(root, "trivial"), ProofFinished)


def test_real_repl_header_env_is_reused(backend_cfg, repo_root):
    proc = ReplProcess(
        list(backend_cfg.command), repo_root / str(backend_cfg.project_dir), timeout_s=60, start_timeout_s=600
    )
    env = proc.header_env("import Mathlib\nopen Real")
    assert proc.header_env("import Mathlib\nopen Real") == env
    resp = proc.request({"cmd": "example : (2 : ℝ) ≤ 3 := by norm_num", "env": env})
    assert resp.ok and not resp.sorries
    proc.kill()
