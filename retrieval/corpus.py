"""The premise corpus: one JSON-lines format, and loaders that produce it from every source we support.

A corpus file holds two kinds of lines, told apart by their keys:

* a **premise** (has ``full_name``)::

    {"full_name": "Nat.add_comm", "code": "theorem add_comm (n m : ℕ) : n + m = m + n", "module": "Init.Core",
     "path": "Init/Core.lean", "start": [10, 1], "end": [12, 30], "kind": "theorem"}

* a **file** (has ``file``), carrying the import edges that accessible-premise filtering needs::

    {"file": "Mathlib/Foo.lean", "module": "Mathlib.Foo", "imports": ["Mathlib/Bar.lean", "Init/Core.lean"]}

Positions are 1-based ``[line, column]`` as LeanDojo writes them. Sources: our own files (``read_corpus``),
LeanDojo Benchmark 4's ``corpus.jsonl`` (``read_leandojo_corpus``), a LeanDojo ``TracedRepo``
(``corpus_from_traced_repo``) and a live Lean environment listed through the REPL (``corpus_from_declarations``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from prover.files import file_sha256
from prover.jsonl import BadLine, json_object_lines
from prover.retrieval.errors import RetrievalError

#: Lean source position: (line, column), 1-based line as LeanDojo records it.
Pos = tuple[int, int]
BadUtf8Policy = Literal["error", "skip"]
#: How :func:`read_corpus_source` reads a path: ``auto`` (a directory is a traced repo, a file is sniffed),
#: ``ours``, ``leandojo`` (Benchmark 4's ``corpus.jsonl``) or ``traced`` (a traced repository directory).
CorpusSource = Literal["auto", "ours", "leandojo", "traced"]
CORPUS_SOURCES: tuple[str, ...] = ("auto", "ours", "leandojo", "traced")


class CorpusError(RetrievalError):
    """A corpus file (or an object claiming to be a corpus source) that cannot be read."""


@dataclass(frozen=True)
class Premise:
    """A declaration that a proof may use: its name, its statement as written, and where it lives."""

    full_name: str
    code: str = ""
    module: str = ""
    path: str = ""
    start: Pos = (0, 0)
    end: Pos = (0, 0)
    kind: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["start"], out["end"] = list(self.start), list(self.end)
        return out

    @property
    def text(self) -> str:
        """What the encoders read: the code, or just the name when the source gave no code."""
        return self.code or self.full_name


@dataclass(frozen=True)
class SourceFile:
    """A Lean file of the corpus and the files it imports directly."""

    path: str
    module: str = ""
    imports: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"file": self.path, "module": self.module, "imports": list(self.imports)}


@dataclass
class Corpus:
    """Premises in a fixed order (row ``i`` of an index is ``premises[i]``) plus the file import graph."""

    premises: list[Premise] = field(default_factory=list)
    files: dict[str, SourceFile] = field(default_factory=dict)
    #: ``path:line: reason`` for every line skipped while reading (non-UTF-8 under ``bad_utf8="skip"``).
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.premises)

    def __iter__(self) -> Iterator[Premise]:
        return iter(self.premises)

    def names(self) -> list[str]:
        return [p.full_name for p in self.premises]

    def by_name(self) -> dict[str, int]:
        """``full_name -> row``; on duplicate names the first row wins (as in LeanDojo's corpus)."""
        rows: dict[str, int] = {}
        for i, p in enumerate(self.premises):
            rows.setdefault(p.full_name, i)
        return rows

    def module_paths(self) -> dict[str, str]:
        """``module -> path`` for every file whose module is known."""
        return {f.module: f.path for f in self.files.values() if f.module}


# --- conversions ----------------------------------------------------------------------------------
def module_to_path(module: str) -> str:
    """``Mathlib.Data.Nat.Basic`` -> ``Mathlib/Data/Nat/Basic.lean`` (Lean's own layout)."""
    return module.replace(".", "/") + ".lean" if module else ""


def path_to_module(path: str) -> str:
    """Inverse of :func:`module_to_path` for repository-relative paths; LeanDojo's toolchain prefix dropped."""
    p = path.removesuffix(".lean")
    for prefix in (".lake/packages/lean4/src/lean/", "src/lean/"):
        if p.startswith(prefix):
            p = p[len(prefix) :]
    if "/.lake/packages/" in "/" + p:
        p = p.split(".lake/packages/", 1)[1].split("/", 1)[-1]
    return p.replace("/", ".")


def _pos(value: Any, where: str, key: str) -> Pos:
    if value is None:
        return (0, 0)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return (int(value[0]), int(value[1]))
    raise CorpusError(f"{where}: '{key}' must be [line, column], got {value!r}")


def premise_from_json(obj: dict[str, Any], where: str, path: str = "", module: str = "") -> Premise:
    """Validate one premise object; ``path``/``module`` fill in what a per-file source leaves implicit."""
    name = obj.get("full_name")
    if not isinstance(name, str) or not name.strip():
        raise CorpusError(f"{where}: premise needs a non-empty string 'full_name'")
    for key in ("code", "module", "path", "kind"):
        if key in obj and obj[key] is not None and not isinstance(obj[key], str):
            raise CorpusError(f"{where}: '{key}' must be a string")
    file_path = obj.get("path") or path
    return Premise(
        full_name=name,
        code=obj.get("code") or "",
        module=obj.get("module") or module or (path_to_module(file_path) if file_path else ""),
        path=file_path,
        start=_pos(obj.get("start"), where, "start"),
        end=_pos(obj.get("end"), where, "end"),
        kind=obj.get("kind") or "",
    )


def _source_file(obj: dict[str, Any], where: str) -> SourceFile:
    path, imports = obj.get("file"), obj.get("imports", [])
    if not isinstance(path, str) or not path:
        raise CorpusError(f"{where}: 'file' must be a non-empty string")
    if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
        raise CorpusError(f"{where}: 'imports' must be a list of file paths")
    return SourceFile(path=path, module=obj.get("module") or path_to_module(path), imports=tuple(imports))


def _json_lines(
    path: Path, bad_utf8: BadUtf8Policy, skipped: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(path:line, object)``; non-UTF-8 lines raise or are skipped-with-report, bad JSON always raises."""
    if bad_utf8 not in ("error", "skip"):
        raise CorpusError(f"bad_utf8 must be 'error' or 'skip', not {bad_utf8!r}")
    if not path.is_file():
        raise CorpusError(f"corpus file {path} does not exist")
    for where, item in json_object_lines(path):
        if isinstance(item, BadLine):
            if item.kind == "utf8" and bad_utf8 == "skip":
                skipped.append(item.describe())
                continue
            hint = "; pass bad_utf8='skip' to skip" if item.kind == "utf8" else ""
            raise CorpusError(item.describe() + hint)
        yield where, item


# --- our format -----------------------------------------------------------------------------------
def read_corpus(path: str | Path, bad_utf8: BadUtf8Policy = "error") -> Corpus:
    """Read a corpus in our format (premise lines and file lines, in any order)."""
    corpus = Corpus()
    for where, obj in _json_lines(Path(path), bad_utf8, corpus.skipped):
        if "full_name" in obj:
            corpus.premises.append(premise_from_json(obj, where))
        elif "file" in obj:
            f = _source_file(obj, where)
            corpus.files[f.path] = f
        elif "premises" in obj and "path" in obj:
            raise CorpusError(f"{where}: this is LeanDojo's corpus.jsonl format; use read_leandojo_corpus")
        else:
            raise CorpusError(f"{where}: neither a premise ('full_name') nor a file ('file') line")
    return corpus


def write_corpus(corpus: Corpus, path: str | Path) -> str:
    """Write ``corpus`` (files first, then premises in row order); returns the file's SHA-256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for f in corpus.files.values():
            out.write(json.dumps(f.to_json(), ensure_ascii=False) + "\n")
        for p in corpus.premises:
            out.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
    return file_sha256(path)


# --- LeanDojo Benchmark 4 -------------------------------------------------------------------------
def _add_leandojo_file(corpus: Corpus, obj: dict[str, Any], where: str) -> None:
    path, imports, premises = obj.get("path"), obj.get("imports", []), obj.get("premises", [])
    if not isinstance(path, str) or not path:
        raise CorpusError(f"{where}: LeanDojo corpus line needs a string 'path'")
    if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
        raise CorpusError(f"{where}: 'imports' must be a list of paths")
    if not isinstance(premises, list):
        raise CorpusError(f"{where}: 'premises' must be a list")
    module = path_to_module(path)
    corpus.files[path] = SourceFile(path=path, module=module, imports=tuple(imports))
    for j, premise in enumerate(premises):
        if not isinstance(premise, dict):
            raise CorpusError(f"{where}: premise #{j} is not an object")
        corpus.premises.append(premise_from_json(premise, f"{where} premise #{j}", path=path, module=module))


#: LeanDojo Benchmark 4's published split schemes and splits (``random/train.json`` …), kept as published.
LEANDOJO_SCHEMES = ("random", "novel_premises")
LEANDOJO_SPLITS = ("train", "val", "test")


def leandojo_split_files(root: Path) -> Iterator[tuple[str, str, Path]]:
    """``(split scheme, split, file)`` of a LeanDojo Benchmark 4 root, for every published split present."""
    for scheme in LEANDOJO_SCHEMES:
        for split in LEANDOJO_SPLITS:
            path = root / scheme / f"{split}.json"
            if path.is_file():
                yield scheme, split, path


def read_leandojo_corpus(path: str | Path, bad_utf8: BadUtf8Policy = "error") -> Corpus:
    """LeanDojo Benchmark 4's ``corpus.jsonl``: one line per file with ``path``, ``imports``, ``premises``."""
    corpus = Corpus()
    for where, obj in _json_lines(Path(path), bad_utf8, corpus.skipped):
        if "full_name" in obj or "file" in obj:
            raise CorpusError(f"{where}: this is our corpus format, not LeanDojo's; use read_corpus")
        _add_leandojo_file(corpus, obj, where)
    return corpus


def read_any_corpus(path: str | Path, bad_utf8: BadUtf8Policy = "error") -> Corpus:
    """Our format or LeanDojo's, decided by the first object's keys."""
    for _where, obj in _json_lines(Path(path), bad_utf8, []):
        if "premises" in obj and "path" in obj:
            return read_leandojo_corpus(path, bad_utf8)
        break
    return read_corpus(path, bad_utf8)


def read_corpus_source(
    path: str | Path, source: CorpusSource = "auto", bad_utf8: BadUtf8Policy = "error"
) -> Corpus:
    """A corpus from any supported source; ``source`` says how to read ``path`` (see :data:`CorpusSource`)."""
    if source not in CORPUS_SOURCES:
        raise CorpusError(f"unknown corpus source {source!r}; choose one of {', '.join(CORPUS_SOURCES)}")
    if source == "traced" or (source == "auto" and Path(path).is_dir()):
        return corpus_from_traced_repo(load_traced_repo(path))
    if source == "ours":
        return read_corpus(path, bad_utf8)
    if source == "leandojo":
        return read_leandojo_corpus(path, bad_utf8)
    return read_any_corpus(path, bad_utf8)


# --- LeanDojo TracedRepo --------------------------------------------------------------------------
def corpus_from_traced_repo(traced_repo: Any) -> Corpus:
    """Premises of every traced file, with imports, exactly as LeanDojo Benchmark 4 exports them.

    ``traced_repo`` is a ``lean_dojo.TracedRepo`` (``lean_dojo.trace(repo)`` or ``TracedRepo.load_from_disk``);
    imports are the file's successors in ``traced_files_graph`` (LeanDojo's edges point from importer to
    imported) when the graph was built, else the file's direct ``import`` lines.
    """
    graph = getattr(traced_repo, "traced_files_graph", None)
    corpus = Corpus()
    for tf in traced_repo.traced_files:
        path = str(tf.path)
        if graph is not None and path in graph:
            imports = [str(p) for p in graph.successors(path)]
        else:
            imports = [str(p) for _module, p in tf.get_direct_dependencies(traced_repo.repo)]
        obj = {"path": path, "imports": imports, "premises": tf.get_premise_definitions()}
        _add_leandojo_file(corpus, obj, f"traced file {path}")
    return corpus


def load_traced_repo(root_dir: str | Path, build_deps: bool = True) -> Any:
    """Load an already traced repository from its ``*.trace.xml`` files (lean_dojo imported lazily)."""
    try:
        from lean_dojo import TracedRepo
    except ImportError as exc:  # pragma: no cover - lean-dojo is a declared dependency
        raise CorpusError("loading a traced repo needs the 'lean-dojo' package") from exc
    if not Path(root_dir).is_dir():
        raise CorpusError(f"traced repo {root_dir} is not a directory")
    return TracedRepo.load_from_disk(root_dir, build_deps=build_deps)


# --- a live Lean environment ----------------------------------------------------------------------
def corpus_from_declarations(
    declarations: Iterable[Any], module_imports: dict[str, list[str]] | None = None
) -> Corpus:
    """Premises from ``prover.lean.declarations.Declaration`` objects (a REPL listing of an environment).

    The code is ``kind name : type`` (the elaborated statement, as Lean prints it): the source text is not
    available from an environment, and the statement is what a retriever should match on.
    """
    corpus = Corpus()
    for module, imports in (module_imports or {}).items():
        path = module_to_path(module)
        corpus.files[path] = SourceFile(path, module, tuple(module_to_path(m) for m in imports))
    for d in declarations:
        code = f"{d.kind} {d.name} : {d.type}" if d.type else f"{d.kind} {d.name}"
        corpus.premises.append(
            Premise(
                full_name=d.name,
                code=code,
                module=d.module,
                path=module_to_path(d.module),
                start=d.start,
                end=d.end,
                kind=d.kind,
            )
        )
    return corpus
