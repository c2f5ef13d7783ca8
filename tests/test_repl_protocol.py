"""The REPL protocol layer: framing, typed responses, and Lean's success semantics."""

from __future__ import annotations

import json

import pytest

from prover.lean.protocol import (
    CommandRequest,
    FileRequest,
    FrameBuffer,
    PickleRequest,
    ProtocolError,
    Response,
    TacticRequest,
    UnpickleEnvRequest,
    UnpickleProofStateRequest,
    command_kind,
    encode_command,
    encode_response,
    iter_command_blocks,
    parse_commands,
    parse_responses,
    read_command_blocks,
    split_response_texts,
)


def _pairs(folder):
    return sorted(p for p in folder.glob("*.in") if p.with_suffix(".expected.out").is_file())


def test_every_real_fixture_parses_into_typed_responses(repl_fixtures):
    pairs = _pairs(repl_fixtures)
    assert len(pairs) >= 45
    shapes = set()
    for cmd_file in pairs:
        commands = parse_commands(cmd_file.read_text(encoding="utf-8"), source=cmd_file.name)
        responses = parse_responses(cmd_file.with_suffix(".expected.out").read_text(encoding="utf-8"))
        assert len(commands) == len(responses), cmd_file.name
        for resp in responses:
            assert isinstance(resp.raw, dict)
            shapes.update(resp.raw)
            for m in resp.messages:
                assert m.severity in ("trace", "info", "warning", "error")
    assert {
        "env",
        "messages",
        "sorries",
        "proofState",
        "goals",
        "proofStatus",
        "message",
        "tactics",
    } <= shapes


def test_proof_step_fixture_semantics(repl_fixtures):
    responses = parse_responses((repl_fixtures / "proof_step.expected.out").read_text(encoding="utf-8"))
    root, s1, s2, last = responses
    assert root.env == 0 and root.sorries[0].goal == "⊢ Nat" and root.sorries[0].proof_state == 0
    assert root.ok and root.messages[0].severity == "warning"
    assert s1.goals == ("⊢ Int",) and not s1.complete
    assert s2.goals == ("t : Nat\n⊢ Nat",) and s2.proof_state == 2
    assert last.complete and last.goals == ()


def test_metavariable_status_with_no_goals_is_not_complete(repl_fixtures):
    last = parse_responses((repl_fixtures / "app_type_mismatch.expected.out").read_text(encoding="utf-8"))[-1]
    assert last.goals == () and last.ok
    assert last.proof_status == "Incomplete: contains metavariable(s)"
    assert not last.complete


def test_error_message_fails_step_even_with_empty_goals():
    resp = Response.parse(
        json.dumps(
            {
                "proofState": 3,
                "goals": [],
                "proofStatus": "Incomplete: contains sorry",
                "messages": [
                    {"severity": "error", "pos": {"line": 0, "column": 1}, "data": "Unknown identifier `foo`"}
                ],
            }
        )
    )
    assert not resp.ok and not resp.complete
    assert resp.errors == ("0:1: error: Unknown identifier `foo`",)


def test_refusal_answer_is_an_error(repl_fixtures):
    resp = parse_responses((repl_fixtures / "unknown_tactic.expected.out").read_text(encoding="utf-8"))[-1]
    assert resp.message is not None and "unknown tactic" in resp.message
    assert not resp.ok and resp.errors[0].startswith("Lean error")


def test_invalid_line_break_blocks_concatenate_like_the_repl(repl_fixtures):
    commands = parse_commands((repl_fixtures / "invalid_line_break.in").read_text(encoding="utf-8"))
    assert commands[0]["cmd"] == "theorem foo : 1 = 1 := bysorry"


def test_comment_blocks_are_skipped_and_bad_json_is_named():
    assert list(iter_command_blocks('# note\n\n{"cmd": "a"}\n\n-- x\n')) == ['{"cmd": "a"}']
    with pytest.raises(ProtocolError, match="command 2 is not JSON"):
        parse_commands('{"cmd": "a"}\n\n{"cmd": \n')


def test_encoded_command_is_one_line_with_escaped_newlines():
    data = encode_command({"cmd": "theorem t : True := by\n  trivial", "env": 0})
    text = data.decode()
    assert text.endswith("\n\n") and text.count("\n") == 2
    assert json.loads(text)["cmd"] == "theorem t : True := by\n  trivial"


def test_command_kinds():
    assert command_kind({"cmd": "x"}) == "command"
    assert command_kind({"path": "f.lean"}) == "command"
    assert command_kind({"tactic": "simp", "proofState": 0}) == "tactic"
    assert command_kind({"pickleTo": "a.olean", "proofState": 0}) == "pickle"
    assert command_kind({"unpickleEnvFrom": "a.olean"}) == "pickle"


def test_frame_buffer_handles_arbitrary_splits_and_bad_bytes():
    payload = b'{"env":\n 0}\n\n{"goals": ["\xff \xe2\x8a\xa2 x"],\n "proofState": 1}\n\n'
    for step in (1, 2, 5, len(payload)):
        fb = FrameBuffer()
        frames = []
        for i in range(0, len(payload), step):
            frames += fb.feed(payload[i : i + step])
        assert [Response.parse(f).env for f in frames] == [0, None]
        assert Response.parse(frames[1]).goals == ("\ufffd ⊢ x",)
        assert fb.pending == b""


def test_non_json_and_non_object_answers_raise_protocol_error():
    with pytest.raises(ProtocolError, match="not JSON"):
        Response.parse("PANIC at something")
    with pytest.raises(ProtocolError, match="JSON object"):
        Response.parse("[1, 2]")
    with pytest.raises(ProtocolError, match="severity"):
        Response.parse('{"messages": [{"severity": "fatal", "data": "x"}]}')


def test_typed_requests_are_the_repl_json() -> None:
    assert CommandRequest("theorem t : True := trivial").to_json() == {"cmd": "theorem t : True := trivial"}
    assert CommandRequest(
        "#check t", env=0, all_tactics=True, root_goals=True, infotree="full"
    ).to_json() == {
        "cmd": "#check t",
        "env": 0,  # env 0 is an env, not "unset"
        "allTactics": True,
        "rootGoals": True,
        "infotree": "full",
    }
    assert FileRequest("A.lean", all_tactics=True).to_json() == {"path": "A.lean", "allTactics": True}
    assert TacticRequest("simp", 3).to_json() == {"tactic": "simp", "proofState": 3}
    assert PickleRequest("e.olean", env=1).to_json() == {"pickleTo": "e.olean", "env": 1}
    assert PickleRequest("p.olean", proof_state=0).to_json() == {"pickleTo": "p.olean", "proofState": 0}
    assert UnpickleEnvRequest("e.olean").to_json() == {"unpickleEnvFrom": "e.olean"}
    assert UnpickleProofStateRequest("p.olean", env=2).to_json() == {
        "unpickleProofStateFrom": "p.olean",
        "env": 2,
    }
    with pytest.raises(ValueError, match="exactly one"):
        PickleRequest("x.olean", env=1, proof_state=2)
    for request in (CommandRequest("a"), TacticRequest("simp", 0), PickleRequest("p", proof_state=0)):
        assert command_kind(request) == command_kind(request.to_json())  # the kind matches the raw form
        assert encode_command(request) == encode_command(request.to_json())


def test_one_command_reader_yields_each_block_as_soon_as_it_is_complete() -> None:
    def lines():
        yield '{"tactic": "simp",\n'
        yield ' "proofState": 0}\n'
        yield "\n"
        raise AssertionError("read past the first complete block")

    assert next(read_command_blocks(lines())) == '{"tactic": "simp", "proofState": 0}'


def test_one_response_writer_and_reader_round_trip() -> None:
    answers = [{"env": 0}, {"proofState": 1, "goals": ["a\n\nb"], "messages": []}]
    text = "".join(encode_response(a) for a in answers)
    assert [json.loads(t) for t in split_response_texts(text)] == answers
    fb = FrameBuffer()
    assert [json.loads(t) for t in fb.feed(text.encode())] == answers
