"""Benchmark loaders: every source becomes a list of :class:`Problem` (id, ``Theorem``, split, category).

Malformed entries are never dropped silently: each is reported by name with the reason in
``LoadReport.skipped`` (the CLI prints them). Supported: miniF2F JSONL (v4.24 line and the DeepSeek-Prover
variant), FormalMATH JSON (whole Lean files ending ``:= by``), our local JSONL, a ``.lean`` file, or a
directory of ``.lean`` files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.jsonl import BadLine, json_object_lines
from prover.lean.types import Theorem


class BenchmarkError(ValueError):
    """A benchmark cannot be read at all (missing file, wrong format, nothing usable)."""


@dataclass(frozen=True)
class Problem:
    """One benchmark problem. ``id`` is unique in its benchmark and keys the results file."""

    id: str
    theorem: Theorem
    split: str | None = None
    category: str = "other"

    def to_json(self) -> dict[str, Any]:
        t = self.theorem
        return {
            "id": self.id,
            "name": t.name,
            "header": t.header,
            "statement": t.statement,
            "source": t.source,
            "split": self.split,
            "category": self.category,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Problem:
        theorem = Theorem(data["name"], data["statement"], data["header"], data.get("source", ""))
        return cls(data["id"], theorem, data.get("split"), data.get("category", "other"))


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

_DECL = re.compile(
    r"^(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable|nonrec)\s+)*"
    r"(theorem|lemma|example|def|abbrev|instance|structure|inductive|class)\b\s*([^\s(:{\[]*)",
    re.MULTILINE,
)
_OPEN_PROOF = re.compile(r":=\s*(by\s*(sorry)?\s*)?$", re.DOTALL)
_DOC_BEFORE = re.compile(r"(/--(?:(?!-/).)*-/\s*)$", re.DOTALL)


@dataclass(frozen=True)
class LeanDecl:
    keyword: str
    name: str
    text: str


def split_lean_file(text: str) -> tuple[str, list[LeanDecl]]:
    """Cut Lean source into the preamble before the first declaration and its top-level declarations.

    A declaration starts at a line beginning with a declaration keyword (after attributes/modifiers);
    a doc comment right above it belongs to it.
    """
    starts = [m.start() for m in _DECL.finditer(text)]
    if not starts:
        return text, []
    cut = []
    for s in starts:
        doc = _DOC_BEFORE.search(text[:s])
        cut.append(doc.start() if doc else s)
    preamble = text[: cut[0]]
    decls = []
    for i, s in enumerate(cut):
        end = cut[i + 1] if i + 1 < len(cut) else len(text)
        chunk = text[s:end]
        m = _DECL.search(chunk)
        assert m is not None
        decls.append(LeanDecl(m.group(1), m.group(2), chunk.rstrip() + "\n"))
    return preamble, decls


def is_open_goal(decl_text: str) -> bool:
    """Does the declaration end with ``:=``, ``:= by`` or ``:= by sorry`` (a problem, not a proved lemma)?"""
    return bool(_OPEN_PROOF.search(decl_text.rstrip()))


def _normalise_header(header: str) -> str:
    header = header.strip("\n")
    return header + "\n" if header else "import Mathlib\n"


# --- loaders ------------------------------------------------------------------------------------------


def _json_lines(path: Path, report: LoadReport) -> Iterable[tuple[str, dict[str, Any]]]:
    """The file's JSON objects; a bad line is reported by ``name:line`` and skipped, never dropped silently."""
    for where, item in json_object_lines(path, label=path.name):
        if isinstance(item, BadLine):
            report.skipped.append((where, item.describe().removeprefix(f"{where}: ")))
            continue
        yield where, item


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
            theorem = Theorem.from_formal_statement(name, statement, _normalise_header(header), source)
        except ValueError as exc:
            report.skipped.append((name, str(exc)))
            continue
        category = obj.get("category") or category_of(name)
        split = obj.get("split")
        report.add(Problem(name, theorem, str(split) if split is not None else None, str(category)))
    return report


def load_formalmath_json(path: Path, source: str) -> LoadReport:
    """FormalMATH: each ``autoformalization`` is a whole Lean file ending ``:= by``.

    The header is everything before the theorem (imports, ``open``, helper ``def``s); the theorem is the
    declaration named by ``theorem_names`` when it occurs, else the last open declaration of the file.
    The problem id is ``theorem_names`` (unique in the dataset); the Lean name is the declared one.
    """
    report = LoadReport()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchmarkError(f"{path}: not a FormalMATH JSON list: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise BenchmarkError(f"{path}: expected a JSON list of FormalMATH problems")
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
    return report


def formalmath_problem(ident: str, lean_file: str, domain: str, source: str) -> Problem | str:
    """One FormalMATH entry as a problem, or the reason it cannot be one."""
    preamble, decls = split_lean_file(lean_file)
    if not decls:
        return "no declaration in 'autoformalization'"
    target = next((d for d in decls if d.name == ident and is_open_goal(d.text)), None)
    if target is None:
        open_decls = [d for d in decls if is_open_goal(d.text) and d.keyword != "example"]
        if not open_decls:
            return "no declaration ending ':= by' in 'autoformalization'"
        target = open_decls[-1]
    index = decls.index(target)
    header = preamble + "".join(d.text + "\n" for d in decls[:index])
    try:
        theorem = Theorem.from_formal_statement(
            target.name or ident, target.text, _normalise_header(header), source
        )
    except ValueError as exc:
        return str(exc)
    if index + 1 < len(decls):
        return f"text after the theorem ({decls[index + 1].keyword} {decls[index + 1].name})"
    return Problem(ident, theorem, None, formalmath_category(domain))


def load_lean_file(path: Path, source: str, split: str | None = None) -> LoadReport:
    """Every ``theorem``/``lemma`` ending ``:= by sorry`` (or ``:= by``) in a ``.lean`` file is a problem.

    Its header is the file's text before it, with earlier problems left out (they are stated, not proved),
    so helper definitions and proved lemmas stay visible.
    """
    report = LoadReport()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BenchmarkError(f"{path}: not UTF-8: {exc}") from exc
    preamble, decls = split_lean_file(text)
    context = preamble
    for decl in decls:
        if decl.keyword in ("theorem", "lemma") and is_open_goal(decl.text):
            if not decl.name:
                report.skipped.append((f"{path.name}:{decl.text[:40]!r}", "theorem without a name"))
                continue
            try:
                theorem = Theorem.from_formal_statement(
                    decl.name, decl.text, _normalise_header(context), source
                )
            except ValueError as exc:
                report.skipped.append((decl.name, str(exc)))
                continue
            report.add(Problem(decl.name, theorem, split, minif2f_category(decl.name)))
        else:
            context += decl.text + "\n"
    return report


def load_lean_dir(path: Path, source: str) -> LoadReport:
    """All ``.lean`` files below ``path``; a sub-folder named like a split (``Valid/``, ``test/``) sets it."""
    report = LoadReport()
    files = sorted(path.rglob("*.lean"))
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


def load_path(path: str | Path, fmt: str | None = None, source: str | None = None) -> LoadReport:
    """Load any supported benchmark file or directory; ``fmt`` from the manifest, else sniffed."""
    path = Path(path).expanduser()
    if not path.exists():
        raise BenchmarkError(f"benchmark file not found: {path}")
    source = source or path.name
    if path.is_dir():
        return load_lean_dir(path, source)
    if fmt == "formalmath_json" or (fmt is None and path.suffix == ".json"):
        return load_formalmath_json(path, source)
    if path.suffix == ".lean":
        return load_lean_file(path, source)
    if fmt in (None, "minif2f_jsonl", "theorems_jsonl") and path.suffix in (".jsonl", ".json", ""):
        return load_theorems_jsonl(path, source)
    raise BenchmarkError(f"{path}: cannot load format {fmt or path.suffix!r} as a benchmark of theorems")


def select(
    problems: list[Problem],
    split: str | None = None,
    limit: int | None = None,
    names: Iterable[str] | None = None,
) -> list[Problem]:
    """Filter by split and names (kept in file order), then keep the first ``limit``."""
    chosen = problems
    if split:
        splits = {p.split for p in problems}
        if split not in splits:
            known = ", ".join(sorted(str(s) for s in splits))
            raise BenchmarkError(f"no problem in split {split!r}; splits here: {known}")
        chosen = [p for p in chosen if p.split == split]
    if names:
        wanted = set(names)
        chosen = [p for p in chosen if p.id in wanted or p.theorem.name in wanted]
    if limit is not None:
        if limit < 1:
            raise BenchmarkError(f"limit must be >= 1, got {limit}")
        chosen = chosen[:limit]
    return chosen


def load_benchmark(cfg: Any) -> tuple[list[Problem], LoadReport]:
    """The problems named by ``cfg.benchmark`` (``name``, optional ``path``, ``split``, ``limit``, ``names``).

    ``path`` wins; otherwise ``name`` is looked up in the manifest and read from the cache filled by
    ``prover data fetch NAME``.
    """
    from prover.evaluation.manifest import ManifestError, cached_path, load_manifest

    get = cfg.get if hasattr(cfg, "get") else lambda k, d=None: getattr(cfg, k, d)
    name, path = get("name"), get("path")
    fmt = None
    if path:
        resolved = Path(str(path)).expanduser()
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
    report = load_path(resolved, fmt, str(name or resolved.name))
    names = get("names")
    limit = get("limit")
    problems = select(
        report.problems,
        get("split"),
        int(limit) if limit is not None else None,
        list(names) if names else None,
    )
    return problems, report
