"""ReplSession through the scripted-world server: the real protocol over a subprocess, via the factory."""

from __future__ import annotations

from prover.lean.factory import make_session
from prover.lean.types import Crash, ProofFinished, TacticError, TacticState, Theorem, Timeout


def test_scripted_backend_runs_the_real_protocol_with_recovery(repo_root):
    world = repo_root / "tests" / "data" / "worlds" / "tiny.json"
    session = make_session({"name": "scripted", "world": str(world), "pool_size": 2, "tactic_timeout_s": 1.0})
    session.tactic_guard = lambda tactic: []  # the world's own tactics; the guard is tested elsewhere
    with session:
        root = session.start(Theorem("t_add", "theorem t_add (n : ℕ) : n + 0 = n"))
        assert isinstance(root, TacticState) and root.goals == ("n : ℕ\n⊢ n + 0 = n",)
        split, failed, slow = session.run_tactics([(root, "induction n"), (root, "omega"), (root, "slow")])
        assert isinstance(split, TacticState) and len(split.goals) == 2
        assert isinstance(failed, TacticError) and "omega could not prove" in " ".join(failed.messages)
        assert isinstance(slow, Timeout)
        assert isinstance(session.run_tactic(root, "boom"), Crash)
        zero = session.run_tactic(split, "rfl")  # rebuilt by replay wherever its process restarted
        assert isinstance(zero, TacticState) and zero.goals == (split.goals[1],)
        done = session.run_tactic(zero, "omega")
        assert isinstance(done, ProofFinished) and done.path == ("induction n", "rfl", "omega")
