"""The shared reader of untrusted JSON-lines files names every bad line and never drops one silently."""

from __future__ import annotations

from pathlib import Path

from prover.jsonl import BadLine, json_object_lines


def test_each_kind_of_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{not json\n[1, 2]\n\xff\xfe\n{"b": 2}\n')
    items = list(json_object_lines(path, label="d.jsonl"))
    assert [w for w, _ in items] == ["d.jsonl:1", "d.jsonl:3", "d.jsonl:4", "d.jsonl:5", "d.jsonl:6"]
    assert items[0][1] == {"a": 1} and items[4][1] == {"b": 2}
    bad = [item for _, item in items if isinstance(item, BadLine)]
    assert [b.kind for b in bad] == ["json", "object", "utf8"]
    assert bad[0].describe().startswith("d.jsonl:3: not JSON: ")
    assert bad[1].describe() == "d.jsonl:4: expected a JSON object, got list"
    assert bad[2].describe().startswith("d.jsonl:5: not UTF-8 (") and "byte 0" in bad[2].describe()


def test_a_stream_is_read_like_a_file(tmp_path: Path) -> None:
    """``prover retrieve --states-file -`` reads stdin through the same reader, labelled ``<stdin>``."""
    import io

    from prover.jsonl import json_object_stream

    data = b'{"a": 1}\n\n\xff\n"s"\n'
    path = tmp_path / "s.jsonl"
    path.write_bytes(data)
    from_stream = list(json_object_stream(io.BytesIO(data), "<stdin>"))
    from_file = list(json_object_lines(path, label="<stdin>"))
    assert from_stream == from_file
    assert [w for w, _ in from_stream] == ["<stdin>:1", "<stdin>:3", "<stdin>:4"]
