"""Benchmark loaders: every source becomes a list of :class:`Problem` (id, ``Theorem``, split, category).

Malformed entries are never dropped silently: each is reported by name with the reason in
``LoadReport.skipped`` (the CLI prints them). Supported: miniF2F JSONL (v4.24 line and the DeepSeek-Prover
variant), FormalMATH JSON (whole Lean files ending ``:= by``), our local JSONL, a ``.lean`` file, or a
directory of ``.lean`` files.

A benchmark path is user input: only regular files up to :data:`MAX_BENCHMARK_BYTES` are read (``/dev/zero``,
a FIFO or a device is refused before it is opened), and a file with nothing usable in it is one error naming
the file, never a list of thousands of skipped lines. Lean text is split with the lexer
(``prover.lean.source``), not with regexes.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import PositiveInt, field_validator

from prover.errors import ConfigError
from prover.evaluation.errors import EvaluationError
from prover.jsonl import BadLine, json_object_lines
from prover.lean.source import THEOREMS, Command, SourceError, split_commands, split_proof
from prover.lean.types import Theorem
from prover.settings import Settings, load_settings

#: The largest benchmark file read (FormalMATH-All, the largest we know, is a few MB): a larger one is
#: almost certainly the wrong file, and reading it whole would only exhaust memory.
MAX_BENCHMARK_BYTES = 64 * 1024 * 1024


_PROBLEM_DECLS = frozenset({"theorem", "lemma", "def", "abbrev"})


class BenchmarkError(EvaluationError, ValueError):
    """A benchmark cannot be read at all (missing file, wrong format, nothing usable)."""


@dataclass(frozen=True)
class Problem:
    """One benchmark problem. ``id`` is unique in its benchmark and keys the results file."""

    id: str
    theorem: Theorem
    split: str | None = None
    category: str = "other"
    #: definition holes the model fills besides the proof (PutnamBench's ``…_solution`` in "find the answer"
    #: mode): the header holds each as ``abbrev NAME : T := sorry`` and the judge checks them as definition holes
    definition_names: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        t = self.theorem
        data: dict[str, Any] = {
            "id": self.id,
            "name": t.name,
            "header": t.header,
            "statement": t.statement,
            "source": t.source,
            "split": self.split,
            "category": self.category,
        }
        if t.informal:
            data["informal"] = t.informal
        if self.definition_names:
            data["definition_names"] = list(self.definition_names)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Problem:
        theorem = Theorem(
            data["name"], data["statement"], data["header"], data.get("source", ""), data.get("informal", "")
        )
        holes = tuple(str(h) for h in data.get("definition_names") or ())
        return cls(data["id"], theorem, data.get("split"), data.get("category", "other"), holes)


@dataclass
class LoadReport:
    """Problems read, and entries skipped with the reason (``(entry name, reason)``)."""

    problems: list[Problem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        """Keep ``problem`` unless its id was already read (then report it as skipped)."""
        if any(p.id == problem.id for p in self.problems):
            self.skipped.append((problem.id, "duplicate problem id"))
            return
        self.problems.append(problem)


# --- categories ---------------------------------------------------------------------------------------

_MINIF2F_CATEGORIES = (
    ("mathd_algebra", "mathd_algebra"),
    ("mathd_numbertheory", "mathd_numbertheory"),
    ("aime", "aime"),
    ("amc", "amc"),
    ("imo", "imo"),
    ("induction", "induction"),
    ("algebra", "algebra"),
    ("numbertheory", "numbertheory"),
)


def minif2f_category(name: str) -> str:
    """miniF2F's category from the problem name (``amc12a_2019_p21`` -> ``amc``)."""
    for prefix, category in _MINIF2F_CATEGORIES:
        if name.startswith(prefix):
            return category
    return "other"


def formalmath_category(domain: str) -> str:
    """FormalMATH's top-level domain: ``Mathematics -> Algebra -> Prealgebra; ...`` -> ``Algebra``."""
    first = (domain or "").split(";")[0].strip()
    parts = [p.strip() for p in first.split("->") if p.strip()]
    if parts and parts[0].lower() == "mathematics":
        parts = parts[1:]
    return parts[0].title() if parts else "Other"


# --- splitting Lean text ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeanDecl:
    keyword: str
    name: str
    text: str


def split_lean_file(text: str) -> tuple[str, list[LeanDecl]]:
    """The text before the first command, and every command as ``(keyword, full name, text)``.

    Kept for callers of the older API; the loaders use :func:`prover.lean.source.split_commands`.
    """
    preamble, commands = split_commands(text)
    return preamble, [LeanDecl(c.keyword, c.full_name, c.text) for c in commands]


def is_open_goal(decl_text: str) -> bool:
    """Does the declaration's proof read ``:=``, ``:= by``, ``:= by sorry`` or ``:= sorry`` (comments aside)?"""
    try:
        split = split_proof(decl_text)
    except SourceError:
        return False
    return split is not None and split.is_open


def _normalise_header(header: str) -> str:
    header = header.strip("\n")
    return header + "\n" if header else "import Mathlib\n"


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# --- reading files (user input) -----------------------------------------------------------------------


def check_regular_file(path: Path) -> os.stat_result:
    """Refuse, before opening it, anything but a regular file of sensible size (``/dev/zero``, a FIFO...)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise BenchmarkError(f"benchmark file not found: {path}") from None
    except OSError as exc:
        raise BenchmarkError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise BenchmarkError(f"{path}: is a directory, expected a benchmark file")
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(info.st_mode)
            else "a character device"
            if stat.S_ISCHR(info.st_mode)
            else "a block device"
            if stat.S_ISBLK(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "not a regular file"
        )
        raise BenchmarkError(f"{path}: is {kind}, not a regular file; give a benchmark file")
    if info.st_size > MAX_BENCHMARK_BYTES:
        raise BenchmarkError(
            f"{path}: {info.st_size / 2**20:.0f} MiB is more than a benchmark file may hold "
            f"({MAX_BENCHMARK_BYTES // 2**20} MiB); is this the right file?"
        )
    return info


def _read_text(path: Path) -> str:
    """The whole file as UTF-8, after :func:`check_regular_file`; a bad byte is named by line and offset."""
    check_regular_file(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # never blocks, even if swapped for a FIFO meanwhile
    except OSError as exc:
        raise BenchmarkError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise BenchmarkError(f"{path}: is not a regular file; give a benchmark file")
        data = handle.read(MAX_BENCHMARK_BYTES + 1)
    if len(data) > MAX_BENCHMARK_BYTES:
        raise BenchmarkError(
            f"{path}: larger than {MAX_BENCHMARK_BYTES // 2**20} MiB; is this the right file?"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BenchmarkError(f"{path}:{line}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _nothing_usable(path: Path, report: LoadReport, what: str) -> BenchmarkError:
    """One error for a file in which no entry could be read (the wrong file, or the wrong format)."""
    if report.skipped:
        where, reason = report.skipped[0]
        return BenchmarkError(
            f"{path}: no {what} could be read ({len(report.skipped)} skipped; the first, {where}: {reason})"
        )
    return BenchmarkError(f"{path}: no {what} in this file")


# --- loaders ------------------------------------------------------------------------------------------


def _json_lines(path: Path, report: LoadReport) -> Iterable[tuple[str, dict[str, Any]]]:
    """The file's JSON objects; a bad line is reported by ``name:line`` and skipped, never dropped silently."""
    check_regular_file(path)
    for where, item in json_object_lines(path, label=path.name):
        if isinstance(item, BadLine):
            report.skipped.append((where, item.describe().removeprefix(f"{where}: ")))
            continue
        yield where, item


def _statement_of(name: str, formal_statement: str) -> str:
    """The statement of a ``formal_statement`` that ends with an open proof (``:= by sorry`` ...)."""
    try:
        split = split_proof(formal_statement)
    except SourceError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if split is None or not split.is_open:
        raise ValueError(f"{name}: formal statement does not end with ':=', ':= by' or ':= by sorry'")
    if not split.statement.strip():
        raise ValueError(f"{name}: empty statement")
    return split.statement


def load_theorems_jsonl(path: Path, source: str, category_of=minif2f_category) -> LoadReport:
    """miniF2F (both variants) and our own JSONL: ``name``, ``header``, ``formal_statement``, opt. ``split``."""
    report = LoadReport()
    for where, obj in _json_lines(path, report):
        name = obj.get("name")
        if not isinstance(name, str) or not name.strip():
            report.skipped.append((where, "missing 'name'"))
            continue
        statement = obj.get("formal_statement", obj.get("statement"))
        header = obj.get("header", "import Mathlib\n")
        if not isinstance(statement, str) or not isinstance(header, str):
            report.skipped.append((name, "missing or non-string 'formal_statement'/'header'"))
            continue
        if "statement" in obj and "formal_statement" not in obj and not is_open_goal(statement):
            statement = statement.rstrip() + " := by sorry"
        try:
            theorem = Theorem(name, _statement_of(name, statement), _normalise_header(header), source)
        except ValueError as exc:
            report.skipped.append((name, str(exc).removeprefix(f"{name}: ")))
            continue
        category = obj.get("category") or category_of(name)
        split = obj.get("split")
        report.add(Problem(name, theorem, str(split) if split is not None else None, str(category)))
    if not report.problems:
        raise _nothing_usable(
            path, report, "benchmark problem (JSON lines with name, header, formal_statement)"
        )
    return report


def load_formalmath_json(path: Path, source: str) -> LoadReport:
    """FormalMATH: each ``autoformalization`` is a whole Lean file ending ``:= by``.

    The header is everything before the theorem (imports, ``open``, helper ``def``s); the theorem is the
    declaration named by ``theorem_names`` when it occurs, else the last open theorem of the file.
    The problem id is ``theorem_names`` (unique in the dataset); the Lean name is the declared one.
    """
    report = LoadReport()
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchmarkError(f"{path}:{exc.lineno}: not JSON: {exc.msg} (column {exc.colno})") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise BenchmarkError(
            f"{path}: expected a JSON list of FormalMATH problems, got a JSON {type(data).__name__}"
        )
    for i, obj in enumerate(data):
        ident = obj.get("theorem_names") if isinstance(obj, dict) else None
        if isinstance(ident, list):
            ident = ident[0] if ident else None
        label = str(ident) if ident else f"{path.name}[{i}]"
        if not isinstance(obj, dict) or not isinstance(obj.get("autoformalization"), str):
            report.skipped.append((label, "missing 'autoformalization'"))
            continue
        problem = formalmath_problem(label, obj["autoformalization"], str(obj.get("domain", "")), source)
        if isinstance(problem, str):
            report.skipped.append((label, problem))
        else:
            report.add(problem)
    if not report.problems:
        raise _nothing_usable(path, report, "FormalMATH problem (objects with 'autoformalization')")
    return report


def _open_statement(command: Command, keywords: frozenset[str] = THEOREMS) -> str | None:
    """The statement of a named declaration (by default a theorem/lemma) whose proof is open, else None."""
    if command.keyword not in keywords or not command.name:
        return None
    split = split_proof(command.declaration)
    return split.statement if split is not None and split.is_open and split.statement else None


def formalmath_problem(ident: str, lean_file: str, domain: str, source: str) -> Problem | str:
    """One FormalMATH entry as a problem, or the reason it cannot be one."""
    try:
        preamble, commands = split_commands(lean_file)
        statements = [_open_statement(c) for c in commands]
        if not any(statements):  # a few entries state the problem as `def problem … : P := by`
            statements = [_open_statement(c, _PROBLEM_DECLS) for c in commands]
    except SourceError as exc:
        return f"'autoformalization' is not readable Lean: {exc}"
    if not commands:
        return "no declaration in 'autoformalization'"
    candidates = [i for i, st in enumerate(statements) if st is not None]
    if not candidates:
        return "no theorem ending ':= by' in 'autoformalization'"
    named = [i for i in candidates if commands[i].name == ident or commands[i].full_name == ident]
    index = (named or candidates)[-1]
    target = commands[index]
    later = [c for c in commands[index + 1 :] if c.keyword != "comment"]
    if later:
        what = f"{later[0].keyword} {later[0].full_name}".strip()
        return f"text after the theorem ({what})"
    header = preamble + "".join(c.text for c in commands[:index]) + "".join(p + "\n" for p in target.prefixes)
    theorem = Theorem(target.full_name or ident, str(statements[index]), _normalise_header(header), source)
    return Problem(ident, theorem, None, formalmath_category(domain))


def load_lean_file(path: Path, source: str, split: str | None = None) -> LoadReport:
    """Every ``theorem``/``lemma`` whose proof is open (``:=``, ``:= by``, ``:= by sorry``) is a problem.

    Its id and Lean name carry the enclosing namespaces (``namespace Foo … theorem bar`` is ``Foo.bar``).
    Its header is the file's text before it, with earlier problems left out (they are stated, not proved),
    so helper definitions, proved lemmas, ``namespace``/``section``/``variable``/``open`` lines stay in
    effect; an ``open … in``/``set_option … in`` prefix becomes a header line of that problem only.
    Every theorem that is not loaded is reported in ``skipped`` by name: already proved (kept in later
    headers as a helper), a partial proof using ``sorry`` (left out), an ``example`` (no name to prove).
    """
    text = _read_text(path)
    try:
        preamble, commands = split_commands(text)
    except SourceError as exc:
        raise BenchmarkError(f"{path}: cannot be read as Lean: {exc}") from None
    report = LoadReport()
    context = [preamble]
    for command in commands:
        where = f"{path.name}:{_line_of(text, command.decl_start)}"
        if command.keyword not in ("theorem", "lemma", "example"):
            context.append(command.text)
            continue
        try:
            proof = split_proof(command.declaration)
        except SourceError as exc:  # cannot happen once the whole file lexed; kept for safety
            report.skipped.append((where, str(exc)))
            continue
        open_goal = proof is not None and proof.is_open
        label = command.full_name or where
        if command.keyword == "example":
            if open_goal or (proof is not None and proof.uses_sorry):
                report.skipped.append(
                    (where, "an `example` has no name to prove it under; state it as a theorem")
                )
            else:
                context.append(command.text)
            continue
        if not command.name:
            report.skipped.append((where, "theorem without a name"))
            continue
        if not open_goal:
            if proof is not None and proof.uses_sorry:
                report.skipped.append((label, "its proof is partial (uses sorry); left out of later headers"))
            else:
                report.skipped.append((label, "already proved; kept as a helper in later problems' headers"))
                context.append(command.text)
            continue
        assert proof is not None
        header = "".join(context) + "".join(p + "\n" for p in command.prefixes)
        theorem = Theorem(label, proof.statement, _normalise_header(header), source)
        report.add(Problem(label, theorem, split, minif2f_category(command.name)))
    return report


def load_lean_dir(path: Path, source: str) -> LoadReport:
    """All ``.lean`` files below ``path``; a sub-folder named like a split (``Valid/``, ``test/``) sets it."""
    report = LoadReport()
    files = sorted(f for f in path.rglob("*.lean") if f.is_file())
    if not files:
        raise BenchmarkError(f"{path}: no .lean files in this directory")
    for file in files:
        rel = file.relative_to(path)
        split = next((p.lower() for p in rel.parts[:-1] if p.lower() in ("valid", "test", "train")), None)
        sub = load_lean_file(file, f"{source}/{rel.as_posix()}", split)
        for problem in sub.problems:
            report.add(problem)
        report.skipped.extend(sub.skipped)
    return report


# --- PutnamBench ---------------------------------------------------------------------------------------

#: How PutnamBench's answer holes (``abbrev …_solution : T := sorry``, 346 of 672) are run: ``given`` inlines the
#: reference answer from the comment under the hole (the model only proves); ``find`` keeps the hole for the
#: model to fill, judged as a definition hole (``Problem.definition_names``).
PUTNAM_HOLE_MODES = ("given", "find")


def putnam_answer_comment(hole_text: str) -> str | None:
    """The reference answer PutnamBench writes in ``--`` comment lines right under a hole, or None."""
    lines = hole_text.split("\n")[1:]
    answer: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("--"):
            answer.append(stripped[2:].strip())
        elif stripped or answer:
            break
    text = "\n".join(answer).strip()
    return text or None


def _docstring(text: str) -> tuple[str, str]:
    """``(docstring, rest)`` of a declaration that starts with ``/-- … -/`` (else ``("", text)``)."""
    stripped = text.lstrip()
    if not stripped.startswith("/--"):
        return "", text
    end = stripped.find("-/")
    if end < 0:
        return "", text
    return stripped[3:end].strip(), stripped[end + 2 :].lstrip("\n")


def putnam_problem(
    name: str, lean: str, source: str, holes: str = "given", answers: Mapping[str, str] | None = None
) -> Problem | str:
    """One PutnamBench file (``lean4/src/NAME.lean``) as a problem, or the reason it cannot be one.

    Header: the file's imports, ``open`` lines and other definitions, with each answer hole either inlined
    (``holes="given"``: ``abbrev NAME : T := <reference answer>``) or kept with ``sorry`` (``"find"``). The
    docstring above the theorem is the informal statement. ``answers`` overrides the comment under a hole.
    """
    if holes not in PUTNAM_HOLE_MODES:
        return f"unknown hole mode {holes!r} (choose {' or '.join(PUTNAM_HOLE_MODES)})"
    try:
        preamble, commands = split_commands(lean)
    except SourceError as exc:
        return f"not readable Lean: {exc}"
    theorems = [i for i, c in enumerate(commands) if c.is_theorem]
    if len(theorems) != 1:
        return f"expected one theorem, found {len(theorems)}"
    index = theorems[0]
    target = commands[index]
    informal, declaration = _docstring(target.declaration)
    split = split_proof(declaration)
    if split is None or not split.is_open or not split.statement:
        return "the theorem's proof is not open (':= sorry' or ':= by sorry')"
    parts = [preamble]
    hole_names: list[str] = []
    for command in commands[:index]:
        hole = command.keyword in ("abbrev", "def") and command.name.endswith("_solution")
        hole_split = split_proof(command.declaration) if hole else None
        if hole_split is None or not hole_split.is_open:
            parts.append(command.text)
            continue
        hole_names.append(command.name)
        if holes == "find":
            parts.append(f"{hole_split.statement} := sorry\n\n")
            continue
        answer = (answers or {}).get(command.name) or putnam_answer_comment(command.text)
        if answer is None:
            return f"{command.name}: no reference answer in the comment under the hole"
        indented = answer.replace("\n", "\n  ")  # a continuation line must not start a new command
        parts.append(f"{hole_split.statement} :=\n  {indented}\n\n")
    parts += [p + "\n" for p in target.prefixes]
    theorem = Theorem(
        target.full_name or name, split.statement, _normalise_header("".join(parts)), source, informal
    )
    category = "answer" if hole_names else "proof"
    return Problem(name, theorem, None, category, tuple(hole_names) if holes == "find" else ())


def load_putnambench_jsonl(path: Path, source: str, holes: str = "given") -> LoadReport:
    """Our JSON-lines copy of PutnamBench (``name``, ``lean``: the whole file, ``solution_holes``, ``solutions``)."""
    report = LoadReport()
    for label, obj in _json_lines(path, report):
        if not isinstance(obj.get("name"), str) or not isinstance(obj.get("lean"), str):
            report.skipped.append((label, "missing 'name' or 'lean'"))
            continue
        names, values = obj.get("solution_holes") or [], obj.get("solutions") or []
        answers = {str(n): str(v) for n, v in zip(names, values, strict=False)}
        problem = putnam_problem(obj["name"], obj["lean"], source, holes, answers)
        if isinstance(problem, str):
            report.skipped.append((obj["name"], problem))
        else:
            report.add(problem)
    if not report.problems:
        raise _nothing_usable(path, report, "PutnamBench problem (objects with 'name' and 'lean')")
    return report


def putnambench_row(name: str, lean: str) -> dict[str, Any]:
    """One ``lean4/src/NAME.lean`` file as a line of our JSONL copy (what ``prover data fetch putnambench`` writes)."""
    preamble, commands = split_commands(lean)
    del preamble
    holes = [
        c
        for c in commands
        if c.keyword in ("abbrev", "def") and c.name.endswith("_solution") and is_open_goal(c.declaration)
    ]
    return {
        "name": name,
        "lean": lean,
        "solution_holes": [c.name for c in holes],
        "solutions": [putnam_answer_comment(c.text) or "" for c in holes],
    }


def _looks_like_putnambench(path: Path) -> bool:
    """Our PutnamBench copy has whole files (``lean``) where the other JSONL formats have ``formal_statement``."""
    try:
        with path.open("rb") as fh:
            first = json.loads(fh.readline(MAX_BENCHMARK_BYTES) or b"{}")
    except (OSError, ValueError):
        return False
    return isinstance(first, dict) and "lean" in first and "formal_statement" not in first


def load_path(
    path: str | Path, fmt: str | None = None, source: str | None = None, holes: str = "given"
) -> LoadReport:
    """Load any supported benchmark file or directory; ``fmt`` from the manifest, else sniffed.

    Raises :class:`BenchmarkError` (one line naming the file) when nothing can be read: a missing file,
    a directory where a file is expected, a FIFO or device, a huge or binary file, the wrong JSON shape.
    """
    path = Path(path).expanduser()
    source = source or path.name
    if path.is_dir() and fmt is None and path.suffix not in (".json", ".jsonl"):
        report = load_lean_dir(path, source)
    else:
        check_regular_file(path)
        if fmt is None and path.suffix == ".jsonl" and _looks_like_putnambench(path):
            fmt = "putnambench_jsonl"
        if fmt == "putnambench_jsonl":
            report = load_putnambench_jsonl(path, source, holes)
        elif fmt == "formalmath_json" or (fmt is None and path.suffix == ".json"):
            report = load_formalmath_json(path, source)
        elif path.suffix == ".lean":
            report = load_lean_file(path, source)
        elif fmt in (None, "minif2f_jsonl", "theorems_jsonl") and path.suffix in (".jsonl", ".json", ""):
            report = load_theorems_jsonl(path, source)
        else:
            raise BenchmarkError(
                f"{path}: cannot load format {fmt or path.suffix!r} as a benchmark of theorems "
                "(.jsonl, FormalMATH .json, .lean, or a directory of .lean files)"
            )
    if not report.problems:
        raise _nothing_usable(path, report, "open theorem (ending ':= by sorry')")
    return report


class BenchmarkSettings(Settings):
    """``cfg.benchmark`` (configs/benchmark/*.yaml). ``names`` is a list; one name may be given bare."""

    name: str | None = None
    path: str | None = None
    split: str | None = None
    limit: PositiveInt | None = None
    names: list[str] | None = None
    #: PutnamBench's answer holes: ``given`` (the reference answer inlined) or ``find`` (the model fills them)
    holes: Literal["given", "find"] = "given"

    @field_validator("names", mode="before")
    @classmethod
    def _one_name(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("name", "path", "split", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def select(
    problems: list[Problem],
    split: str | None = None,
    limit: int | None = None,
    names: Iterable[str] | None = None,
    skipped: Iterable[tuple[str, str]] = (),
) -> list[Problem]:
    """Filter by split and names (kept in file order), then keep the first ``limit``.

    An explicit name that matches no problem is an error naming it (and why, when the loader skipped an
    entry of that name, or it lives in another split): a run must not silently do less than asked.
    """
    chosen = problems
    if split:
        splits = {p.split for p in problems}
        if split not in splits:
            known = ", ".join(sorted(str(s) for s in splits))
            raise BenchmarkError(f"no problem in split {split!r}; splits here: {known}")
        chosen = [p for p in chosen if p.split == split]
    if names is not None:
        wanted = list(dict.fromkeys(str(n) for n in names))
        if not wanted:
            raise BenchmarkError("benchmark.names is an empty list; leave it null to run every problem")
        unknown = [n for n in wanted if not any(n in (p.id, p.theorem.name) for p in chosen)]
        if unknown:
            raise BenchmarkError(
                "benchmark.names: " + "; ".join(_why_missing(n, problems, split, skipped) for n in unknown)
            )
        chosen = [p for p in chosen if p.id in wanted or p.theorem.name in wanted]
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise BenchmarkError(f"benchmark.limit must be a positive integer, got {limit!r}")
        chosen = chosen[:limit]
    return chosen


def _why_missing(
    name: str, problems: list[Problem], split: str | None, skipped: Iterable[tuple[str, str]]
) -> str:
    for entry, reason in skipped:
        if entry == name:
            return f"{name!r} was skipped while loading ({reason})"
    other = next((p for p in problems if name in (p.id, p.theorem.name)), None)
    if other is not None:
        return f"{name!r} is in split {other.split!r}, not {split!r}"
    return f"no problem named {name!r} (list them with `prover data show BENCHMARK`)"


def load_benchmark(cfg: Any) -> tuple[list[Problem], LoadReport]:
    """The problems named by ``cfg.benchmark`` (``name``, optional ``path``, ``split``, ``limit``, ``names``).

    ``path`` wins; otherwise ``name`` is looked up in the manifest and read from the cache filled by
    ``prover data fetch NAME``. Every problem is a :class:`BenchmarkError` (a ``ValueError``) of one line.
    """
    from prover.evaluation.manifest import ManifestError, cached_path, load_manifest, warn_version_mismatch

    try:
        settings = load_settings(BenchmarkSettings, cfg, "benchmark")
    except ConfigError as exc:
        raise BenchmarkError(str(exc)) from None
    name, path = settings.name, settings.path
    fmt = None
    if path == "???":
        raise BenchmarkError(f"benchmark={name} needs benchmark.path=FILE (a .jsonl, .json or .lean file)")
    if path:
        resolved = Path(path).expanduser()
        if not resolved.is_absolute() and not resolved.exists():
            from prover.evaluation.manifest import REPO_ROOT

            resolved = REPO_ROOT / resolved if (REPO_ROOT / resolved).exists() else resolved
    else:
        try:
            entry = load_manifest().get(str(name))
        except ManifestError as exc:
            raise BenchmarkError(f"{exc}; or set benchmark.path=FILE") from exc
        if entry.kind != "benchmark":
            raise BenchmarkError(f"{name!r} is a {entry.kind}, not a benchmark of theorems")
        resolved, fmt = cached_path(entry), entry.format
        if not resolved.is_file():
            raise BenchmarkError(
                f"benchmark {name!r} is not fetched yet: run `prover data fetch {name}` "
                f"(or `prover data fetch {name} --from FILE`), or set benchmark.path=FILE"
            )
        # once per process, and only for a benchmark that will run (a refusal stays one sentence)
        warn_version_mismatch(entry)
    report = load_path(resolved, fmt, str(name or resolved.name), settings.holes)
    problems = select(report.problems, settings.split, settings.limit, settings.names, report.skipped)
    return problems, report
