"""Tactic text as the REPL's tactic mode must receive it.

Why: the REPL parses a ``{"tactic": …}`` request as exactly one syntax node of category ``tactic``
(``Parser.runParserCategory … `tactic``), so a step holding a sequence, ``rw [h]; norm_num``, is the parse error
"expected end of input" (leanprover-community/repl#43), although the same text is a valid step inside a ``by``
block and in LeanDojo; generators (LLMs above all) propose such steps. Lean's
``paren`` tactic, ``(tacs)``, runs a tactic sequence as one tactic with the same meaning, so such a step is
sent wrapped. Only a ``;`` outside every bracket, string and comment marks a sequence (``<;>`` is one token);
a ``;`` that belongs to a nested ``by`` block at the top level parses the same way inside the parentheses. The
closing parenthesis goes on its own line, so a trailing line comment cannot swallow it.
"""

from __future__ import annotations

from prover.lean.lexer import LexError, bracket_delta, code_tokens

_CLOSE = "\n)"


def is_tactic_sequence(tactic: str) -> bool:
    """Whether ``tactic`` holds a ``;`` at bracket depth 0 (outside strings and comments) and its brackets
    balance. Unbalanced text is never wrapped: our parentheses would pair with its brackets (``exact (`` would
    become ``(…exact (\n)``, i.e. ``exact ()``), so it goes to Lean as written and fails there."""
    try:
        tokens = code_tokens(tactic)
    except LexError:
        return False  # unlexable text is sent as it is; the guard and Lean report it
    depth, sequence = 0, False
    for tok in tokens:
        depth += bracket_delta(tok)
        if depth < 0:
            return False
        if depth == 0 and tok.kind == "symbol" and tok.text == ";":
            sequence = True
    return sequence and depth == 0


def as_single_tactic(tactic: str) -> str:
    """The text to send in tactic mode: ``tactic`` itself, or ``(tactic\\n)`` for a tactic sequence."""
    return f"({tactic}{_CLOSE}" if is_tactic_sequence(tactic) else tactic


def unwrap_single_tactic(sent: str) -> str:
    """The step that :func:`as_single_tactic` wrapped (for the test doubles, which key steps by their text)."""
    if sent.startswith("(") and sent.endswith(_CLOSE) and is_tactic_sequence(sent[1 : -len(_CLOSE)]):
        return sent[1 : -len(_CLOSE)]
    return sent
