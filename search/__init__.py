"""Proof search over Lean proof states: best-first, MCTS, multi-perspective search and whole-proof sampling."""
