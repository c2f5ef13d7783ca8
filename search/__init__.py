"""Proof search over Lean proof states: best-first, MCTS and multi-perspective search."""
