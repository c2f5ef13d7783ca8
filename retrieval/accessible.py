"""Accessible premises, as LeanDojo/ReProver define them: what a theorem could legally refer to.

A premise is accessible from position ``pos`` of file ``F`` when it is defined in a file that ``F`` imports
transitively, or in ``F`` itself and ends at or before ``pos``. Retrieval keeps only these, so a retriever is
never rewarded for (or misled by) lemmas proved later or in files the theorem cannot see.
For a theorem that lives outside the corpus (a benchmark problem under ``import Mathlib``), the accessible
set is everything transitively imported by its header's modules.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from prover.retrieval.corpus import Corpus, Pos
from prover.retrieval.errors import RetrievalError


class AccessibilityError(RetrievalError):
    """A file or module that the corpus does not know."""


class Accessibility:
    """Answers accessible-premise queries over one corpus; transitive imports are computed once per file."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self._by_file: dict[str, list[tuple[Pos, str]]] = {}
        for premise in corpus.premises:
            self._by_file.setdefault(premise.path, []).append((premise.end, premise.full_name))
        for entries in self._by_file.values():
            entries.sort()
        self._closure: dict[str, frozenset[str]] = {}
        self._module_paths = corpus.module_paths()

    def transitive_imports(self, path: str) -> frozenset[str]:
        """Every file reachable from ``path`` through imports, ``path`` excluded (cycles tolerated)."""
        if path in self._closure:
            return self._closure[path]
        seen: set[str] = set()
        stack = list(self._imports_of(path))
        while stack:
            current = stack.pop()
            if current in seen or current == path:
                continue
            seen.add(current)
            if current in self._closure:  # reuse a closure already known
                seen |= self._closure[current]
                continue
            stack.extend(self._imports_of(current))
        seen.discard(path)
        self._closure[path] = frozenset(seen)
        return self._closure[path]

    def _imports_of(self, path: str) -> tuple[str, ...]:
        f = self.corpus.files.get(path)
        return f.imports if f is not None else ()

    def _names_in(self, paths: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for p in paths:
            out.update(name for _end, name in self._by_file.get(p, ()))
        return out

    def accessible(self, path: str, pos: Pos | None = None) -> set[str]:
        """Names accessible at ``pos`` in ``path`` (``pos=None``: the end of the file, i.e. all of it)."""
        if path not in self.corpus.files and path not in self._by_file:
            raise AccessibilityError(f"file {path!r} is not in the corpus")
        names = self._names_in(self.transitive_imports(path))
        own = self._by_file.get(path, [])
        if pos is None:
            names.update(name for _end, name in own)
        else:
            cut = bisect.bisect_right(own, (tuple(pos), "\U0010ffff"))
            names.update(name for _end, name in own[:cut])
        return names

    def accessible_from_modules(self, modules: Iterable[str]) -> set[str]:
        """Names visible under ``import M`` for each ``M`` in ``modules`` (the modules' own files included)."""
        paths: set[str] = set()
        for module in modules:
            path = self._module_paths.get(module)
            if path is None:
                raise AccessibilityError(f"module {module!r} is not in the corpus")
            paths.add(path)
            paths |= self.transitive_imports(path)
        return self._names_in(paths)


def accessible_filter(
    corpus: Corpus,
    file: str | None = None,
    position: Pos | None = None,
    modules: Iterable[str] | None = None,
) -> set[str] | None:
    """The names a retrieval should be limited to: accessible at ``position`` of ``file`` (its end when
    ``position`` is ``None``), or under ``import M`` for each of ``modules``; ``None`` when neither is given.

    Raises :class:`AccessibilityError` for a file or module the corpus does not know, or for a position
    without a file.
    """
    if file and modules:
        raise AccessibilityError("give a file position or a list of imported modules, not both")
    if position is not None and not file:
        raise AccessibilityError("a position needs the file it is in")
    if file:
        return Accessibility(corpus).accessible(file, position)
    if modules:
        return Accessibility(corpus).accessible_from_modules(modules)
    return None


def header_modules(header: str) -> list[str]:
    """The modules named by ``import`` lines of a Lean header (``import Mathlib`` -> ``["Mathlib"]``)."""
    modules: list[str] = []
    for line in header.splitlines():
        words = line.split("--", 1)[0].split()
        if words and words[0] == "import":
            modules.extend(words[1:])
    return modules
