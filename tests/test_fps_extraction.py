"""The answer extraction's command text and the reader of its one report (no Lean needed)."""

from __future__ import annotations

import pytest

from prover.lean.fps_lean import ExtractionError, extraction_command, extraction_report, parse_extraction
from prover.lean.guard import check_tactic
from prover.lean.lexer import code_tokens
from prover.lean.protocol import Response


def _response(*messages: tuple[str, str, int]) -> Response:
    return Response.from_json(
        {
            "env": 3,
            "messages": [
                {"severity": sev, "data": data, "pos": {"line": line, "column": 0}, "endPos": None}
                for sev, data, line in messages
            ],
        }
    )


def test_command_is_ours_and_lexes():
    command = extraction_command("fps_putnam_1979_b3", 2, "open Set Topology\nopen Real")
    assert code_tokens(command)  # lexes as Lean
    assert "open Set Topology in\nopen Real in\n" in command and "set_option pp.fullNames true in" in command
    assert "forallBoundedTelescope info.type (some 2)" in command
    # the guard refuses exactly this kind of text in a model's tactics: only we may send it
    assert check_tactic(command)
    with pytest.raises(ValueError):
        extraction_command("bad name; #exit", 0)
    with pytest.raises(ValueError):
        extraction_command("fps_x", 0, "set_option autoImplicit true")


def test_report_is_read_back():
    command = extraction_command("fps_x", 1)
    got = parse_extraction(_response(("info", extraction_report("(9 : ℕ)", ["n"]), 12)), command)
    assert got.answer == "(9 : ℕ)" and got.intros == ("n",) and got.reparsed
    bad = parse_extraction(_response(("info", extraction_report("x", [], "parse error: oops"), 12)), command)
    assert not bad.reparsed and bad.reparse_error == "parse error: oops"


@pytest.mark.parametrize(
    ("messages", "why"),
    [
        ((), "found 0"),
        ((("info", extraction_report("1"), 12), ("info", extraction_report("2"), 12)), "found 2"),
        ((("info", "FPS_EXTRACT {not json", 12),), "malformed"),
        ((("info", 'FPS_EXTRACT {"answer": ""}', 12),), "no answer"),
        ((("info", extraction_report("1"), 400),), "found 0"),  # outside the command's own text: not ours
        ((("error", "unknown constant", 12),), "extraction failed"),
    ],
)
def test_anything_else_is_refused(messages, why):
    with pytest.raises(ExtractionError, match=why):
        parse_extraction(_response(*messages), extraction_command("fps_x", 0))
