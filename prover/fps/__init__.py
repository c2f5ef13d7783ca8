"""Formal problem solving (FPS / D-FPS): find an answer, prove it, and check it with RPE.

``problem`` (model + loader), ``statements`` (the Lean text we send), ``restatement`` (answers that only
restate the question), ``prelude`` / ``check`` / ``solver`` (the session-driven parts).
"""
