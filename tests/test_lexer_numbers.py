"""Numbers and field indices in the Lean lexer (``prover.lean.lexer``), against Lean's own scanner.

Lean reads a numeral with ``numberFnAux`` / ``decimalNumberFn`` (src/Lean/Parser/Basic.lean): digits, an
optional ``.digits``, and an ``e``/``E`` exponent that must have digits ("missing exponent digits in scientific
literal" otherwise). A projection index is not a numeral: after the ``.`` of ``p.1`` the term parser
(``Term.proj``: no space, ``.``, no space, ``fieldIdx <|> rawIdent``) reads it with ``fieldIdxFn``, which takes
digits only (a nonzero first digit). So ``p.1.eval`` is ``p`` ``.`` ``1`` ``.`` ``eval``, and ``h.1.le`` does not
swallow the second dot into a ``1.`` numeral.
"""

from __future__ import annotations

import pytest

from prover.lean.lexer import LexError, code_tokens


def _texts(source: str) -> list[str]:
    return [t.text for t in code_tokens(source)]


@pytest.mark.parametrize(
    ("source", "tokens"),
    [
        ("p.1.eval", ["p", ".", "1", ".", "eval"]),
        ("hx.2.eq_zero", ["hx", ".", "2", ".", "eq_zero"]),
        ("(a, b).1.exp", ["(", "a", ",", "b", ")", ".", "1", ".", "exp"]),
        ("h.1.le", ["h", ".", "1", ".", "le"]),
        ("x.12.E", ["x", ".", "12", ".", "E"]),
        ("h.2", ["h", ".", "2"]),
    ],
)
def test_a_projection_index_is_digits_only(source: str, tokens: list[str]) -> None:
    assert _texts(source) == tokens


def test_the_projection_index_is_a_number_token() -> None:
    kinds = [(t.kind, t.text) for t in code_tokens("p.1.eval")]
    assert ("number", "1") in kinds and ("ident", "eval") in kinds


@pytest.mark.parametrize(
    ("source", "tokens"),
    [
        ("1.5", ["1.5"]),
        ("2.", ["2."]),
        ("1e10", ["1e10"]),
        ("2.5e-3", ["2.5e-3"]),
        ("3E+2", ["3E+2"]),
        ("0x1F", ["0x1F"]),
        ("1_000", ["1_000"]),
        ("x + 1.5", ["x", "+", "1.5"]),
    ],
)
def test_numerals_are_read_as_lean_reads_them(source: str, tokens: list[str]) -> None:
    assert _texts(source) == tokens


@pytest.mark.parametrize("source", ["1e", "2.ex", "x + 3e+"])
def test_a_numeral_exponent_needs_digits(source: str) -> None:
    # Lean: "missing exponent digits in scientific literal" (parseOptExp in decimalNumberFn)
    with pytest.raises(LexError, match="exponent"):
        code_tokens(source)


def test_a_spaced_dot_is_not_a_projection() -> None:
    # `x .1e` is no projection (Term.proj needs no space before the dot): the numeral rules apply
    with pytest.raises(LexError, match="exponent"):
        code_tokens("x .1e")
