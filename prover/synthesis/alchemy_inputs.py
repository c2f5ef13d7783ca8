"""Alchemy targets from LeanDojo data: Benchmark 4 split files and traced repositories.

Both name a theorem by its file and its 1-based ``[line, column]`` span (end exclusive, LeanDojo's ``Pos``);
neither carries the statement's text. The text is cut from the source file at that span, so a target is the
theorem as its author wrote it, under a header made of the file's imports, the ``open`` commands before it and
``open`` for its enclosing namespaces (the statement's short names resolve as they did in the file).

A target that already exists in the environment cannot be declared again, so its statement is restated as
``<full_name>_alchemy_src``; ``Target.name`` keeps the full name for provenance. ``variable`` binders of the
file are not restated: such a target fails to start and is reported as such by the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.lean.source import SourceError, split_commands
from prover.lean.statement import split_declaration
from prover.retrieval.corpus import leandojo_split_files

#: suffix of the restated target's declared name (the original name is taken in its own environment)
SOURCE_SUFFIX = "_alchemy_src"


@dataclass(frozen=True)
class Target:
    """A theorem to mutate: its statement, its tactic proof and its header. Defined here, with the readers
    that make targets, so that ``alchemy`` imports this module and never the other way round (no circle)."""

    name: str
    statement: str
    proof: str
    header: str = "import Mathlib\n"


@dataclass(frozen=True)
class Located:
    """A theorem as LeanDojo names it: full name, repository-relative file, 1-based span (end exclusive)."""

    full_name: str
    file_path: str
    start: tuple[int, int]
    end: tuple[int, int]


class _File:
    """One source file, read once: its text, commands and line offsets."""

    def __init__(self, path: Path) -> None:
        self.text = path.read_text(encoding="utf-8")
        _, self.commands = split_commands(self.text)
        self.line_starts = [0]
        for i, ch in enumerate(self.text):
            if ch == "\n":
                self.line_starts.append(i + 1)

    def offset(self, pos: tuple[int, int]) -> int:
        line, column = pos
        if not 1 <= line <= len(self.line_starts) or column < 1:
            raise ValueError(f"position {list(pos)} is outside the file")
        return self.line_starts[line - 1] + column - 1

    def header_before(self, offset: int) -> str:
        """Imports, the ``open`` commands before ``offset`` and ``open`` for its enclosing namespaces."""
        lines = [c.text.strip() for c in self.commands if c.keyword == "import"]
        lines += [c.text.strip() for c in self.commands if c.keyword == "open" and c.end <= offset]
        at = offset + len(self.text[offset:]) - len(self.text[offset:].lstrip())  # a span may start on layout
        here = next((c for c in self.commands if c.start <= at < c.end), None)
        if here is not None and here.namespace:
            lines.append("open " + ".".join(here.namespace))
        return "".join(line + "\n" for line in dict.fromkeys(lines)) or "import Mathlib\n"


def target_from_declaration(
    name: str, declaration: str, header: str, declared: str | None = None
) -> Target | str:
    """A :class:`Target` from a theorem with a ``by`` proof, or the reason (a string)
    why it is not one. ``declared`` renames the declaration (the restated source theorem)."""
    import textwrap

    try:
        parts = split_declaration(declaration)
    except ValueError as exc:
        return f"cannot split the declaration: {exc}"
    if parts.kind not in ("theorem", "lemma"):
        return f"a {parts.kind}, not a theorem"
    proof = (parts.proof or "").strip()
    if proof != "by" and not proof.startswith(("by ", "by\n", "by\t", "by\r")):
        return "a term-mode proof or none (Alchemy needs a tactic proof)"
    first, _, rest = proof[2:].partition("\n")
    rest = textwrap.dedent(rest).strip("\n")
    body = "\n".join(x for x in (first.strip(), rest) if x)
    if body.strip() in ("", "sorry"):
        return "an open proof"
    universes = f".{{{', '.join(parts.universes)}}}" if parts.universes else ""
    head = f"theorem {declared or parts.name}{universes}"
    statement = " ".join(x for x in (head, parts.binders, ":", parts.type) if x)
    return Target(name, statement, body, header)


def targets_at_positions(root: Path, located: Iterable[Located]) -> tuple[list[Target], list[str]]:
    """Targets cut from the files under ``root`` at the given spans, and ``name: reason`` for each skipped one
    (file missing, span outside the file, no tactic proof)."""
    files: dict[str, _File | str] = {}
    out, skipped = [], []
    for loc in located:
        if loc.file_path not in files:
            try:
                files[loc.file_path] = _File(root / loc.file_path)
            except (OSError, UnicodeDecodeError, SourceError) as exc:
                files[loc.file_path] = f"cannot read {loc.file_path}: {exc}"
        f = files[loc.file_path]
        if isinstance(f, str):
            skipped.append(f"{loc.full_name}: {f}")
            continue
        try:
            start, end = f.offset(loc.start), f.offset(loc.end)
        except ValueError as exc:
            skipped.append(f"{loc.full_name}: {exc}")
            continue
        declaration = f.text[start:end]
        target = target_from_declaration(
            loc.full_name, declaration, f.header_before(start), declared=loc.full_name + SOURCE_SUFFIX
        )
        if isinstance(target, str):
            skipped.append(f"{loc.full_name}: {target}")
        else:
            out.append(target)
    return out, skipped


def _pos(value: Any) -> tuple[int, int] | None:
    if isinstance(value, str):  # the Hugging Face copies print positions as "(12, 1)"
        value = value.strip("()[] ").split(",")
        try:
            value = [int(v) for v in value]
        except ValueError:
            return None
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (int(value[0]), int(value[1]))
    return None


def leandojo_located(path: Path, scheme: str = "random") -> list[Located]:
    """The theorems of a Benchmark 4 split file (``random/train.json``) or of every split of a scheme under
    the benchmark's root (``prover.retrieval.corpus.leandojo_split_files``); raises ``ValueError`` naming the entry."""
    if path.is_dir():
        files = [p for sc, _sp, p in leandojo_split_files(path) if sc == scheme]
        if not files:
            raise ValueError(f"{path}: no LeanDojo split files {scheme}/{{train,val,test}}.json")
    else:
        files = [path]
    out = []
    for file in files:
        try:
            theorems = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{file}: not a LeanDojo split file: {exc}") from None
        if not isinstance(theorems, list):
            raise ValueError(f"{file}: expected a JSON list of theorems")
        for i, thm in enumerate(theorems):
            where = f"{file}[{i}]"
            if not isinstance(thm, dict):
                raise ValueError(f"{where}: expected an object")
            name, file_path = thm.get("full_name"), thm.get("file_path")
            start, end = _pos(thm.get("start")), _pos(thm.get("end"))
            if not isinstance(name, str) or not isinstance(file_path, str) or start is None or end is None:
                raise ValueError(f"{where}: a theorem needs 'full_name', 'file_path', 'start' and 'end'")
            out.append(Located(name, file_path, start, end))
    return out


def traced_located(traced_repo: Any) -> tuple[Path, list[Located]]:
    """The root and theorems of a ``lean_dojo.TracedRepo`` (``prover.retrieval.corpus.load_traced_repo``)."""
    out = []
    for tt in traced_repo.get_traced_theorems():
        start, end = tuple(tt.start), tuple(tt.end)
        out.append(Located(tt.theorem.full_name, str(tt.file_path), (start[0], start[1]), (end[0], end[1])))
    return Path(traced_repo.root_dir), out


def is_traced_repo(path: Path) -> bool:
    """A directory LeanDojo has traced: its build tree holds ``*.trace.xml`` files."""
    build = path / ".lake" / "build" / "ir"
    return build.is_dir() and next(build.rglob("*.trace.xml"), None) is not None


def is_leandojo_benchmark(path: Path) -> bool:
    """A Benchmark 4 root (``random/`` or ``novel_premises/`` split files) or one of its split files."""
    if path.is_dir():
        return any((path / s / "train.json").is_file() for s in ("random", "novel_premises"))
    return path.suffix == ".json"
