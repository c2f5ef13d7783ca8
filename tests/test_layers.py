"""The layer rules of docs/ARCHITECTURE.md, checked on the source: a lower layer never imports a higher one.

Every module of the installed ``prover`` package (``prover/``, and ``retrieval/`` / ``search/`` which install
as ``prover.retrieval`` / ``prover.search``) is parsed with ``ast``; every ``import`` counts, also those inside
functions and ``TYPE_CHECKING`` blocks (a lazy import is still a dependency, only a cheaper one). Each failure
names ``file:line`` and the two layers, so a new violation is found where it is written.

Also checked here: only ``prover.lean`` starts processes (``subprocess`` and friends), nothing imports the
old top-level names ``search`` / ``retrieval``, and no two top-level classes share a name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: Source folder -> the package name it installs as (pyproject.toml ``package-dir``).
PACKAGE_DIRS = {"prover": "prover", "retrieval": "prover.retrieval", "search": "prover.search"}

#: Layers, low -> high. A module may import its own layer and any lower one. Longest prefix wins.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "prover",  # the package's __init__ only (version string), not everything under it
            "prover.errors",
            "prover.config",
            "prover.settings",
            "prover.jsonl",
            "prover.files",
            "prover.log",
            "prover.progress",
        ),
    ),
    ("lean", ("prover.lean",)),
    ("retrieval", ("prover.retrieval",)),
    ("generation", ("prover.generation",)),
    ("search", ("prover.search",)),
    ("front door", ("prover.theorem_prover",)),
    ("evaluation", ("prover.evaluation",)),
    ("capability", ("prover.fps", "prover.training", "prover.synthesis")),
    ("serve", ("prover.serve",)),
    ("cli", ("prover.cli",)),
]

#: Capabilities share one rank but are independent: one may import another only where documented here
#: (importer package, imported package) -> why.
CAPABILITY_EDGES: dict[tuple[str, str], str] = {}

#: Modules outside ``prover.lean`` allowed to start processes, with the reason (none today: Lean runs only
#: under ``prover.lean``; evaluation's process pool uses ``multiprocessing`` to run Python workers).
PROCESS_EXCEPTIONS: dict[str, str] = {}

#: ``BaseException`` subclasses that are control flow, not errors, so they derive from no package base.
CONTROL_FLOW_EXCEPTIONS: dict[str, str] = {
    "prover.serve.batching.Cancelled": "a cancelled job unwinds like KeyboardInterrupt: no `except Exception` "
    "on its way may swallow it",
}

PROCESS_MODULES = {"subprocess", "pty", "pexpect"}
#: ``os``/``asyncio`` functions that start a program.
PROCESS_CALLS = {
    ("os", "system"),
    ("os", "popen"),
    ("os", "posix_spawn"),
    ("os", "posix_spawnp"),
    ("asyncio", "create_subprocess_exec"),
    ("asyncio", "create_subprocess_shell"),
}
PROCESS_CALL_PREFIXES = {("os", "exec"), ("os", "spawn")}

#: Folders whose Python files must not import the pre-namespace top-level names ``search`` / ``retrieval``.
CODE_DIRS = ("prover", "retrieval", "search", "tests", "bench", "scripts")


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(REPO)}:{getattr(node, 'lineno', 0)}"


def _modules() -> list[Module]:
    out = []
    for folder, package in PACKAGE_DIRS.items():
        root = REPO / folder
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([package, *parts])
            if name.startswith("prover.retrieval.") and folder == "prover":
                continue  # not expected: retrieval lives at the root only
            out.append(Module(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return out


MODULES = _modules()


def _imports(module: Module) -> Iterator[tuple[ast.AST, str]]:
    """``(node, absolute module name)`` for every import anywhere in the module (``from X import y``: X and
    X.y, since y may be a submodule)."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.name.split(".")
                if not module.is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node, target
            for alias in node.names:
                if alias.name != "*":
                    yield node, f"{target}.{alias.name}"


def _layer(name: str) -> tuple[int, str, str] | None:
    """``(rank, layer, matched prefix)`` of a ``prover`` module, ``None`` for anything else."""
    best: tuple[int, str, str] | None = None
    for rank, (layer, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            covers = name == prefix or (prefix != "prover" and name.startswith(prefix + "."))
            if covers and (best is None or len(prefix) > len(best[2])):
                best = (rank, layer, prefix)
    return best


def _is_ours(name: str) -> bool:
    return name == "prover" or name.startswith("prover.")


def layer_violations(modules: list[Module] = MODULES) -> list[str]:
    problems = []
    for module in modules:
        own = _layer(module.name)
        if own is None:
            problems.append(f"{module.path.relative_to(REPO)}: module {module.name} belongs to no layer")
            continue
        seen = set()
        for node, target in _imports(module):
            if not _is_ours(target):
                continue
            other = _layer(target)
            if other is None:
                continue
            key = (module.where(node), other[2])
            if key in seen:
                continue
            seen.add(key)
            if other[0] > own[0]:
                problems.append(
                    f"{module.where(node)}: {module.name} ({own[1]}) imports {target} ({other[1]}), a higher layer"
                )
            elif (
                other[1] == own[1] == "capability"
                and other[2] != own[2]
                and (own[2], other[2]) not in CAPABILITY_EDGES
            ):
                problems.append(
                    f"{module.where(node)}: {module.name} imports {target}: capabilities are independent "
                    f"(document the edge in CAPABILITY_EDGES and docs/ARCHITECTURE.md)"
                )
    return problems


def test_every_module_has_a_layer_and_no_layer_imports_a_higher_one() -> None:
    problems = layer_violations()
    assert not problems, "layer violations:\n" + "\n".join(problems)


def _fake(name: str, source: str) -> Module:
    path = REPO / (name.replace(".", "/") + ".py")
    return Module(name, path, ast.parse(source))


def test_the_checker_catches_lazy_relative_and_capability_imports() -> None:
    """The checker itself: function-local, relative and ``from prover import x`` imports upward are caught,
    imports downward and of third-party modules are not."""
    generation = _fake(
        "prover.generation.fake",
        "import numpy\nfrom prover.lean import types\nfrom . import base\n"
        "def f():\n    from ..search import api\n    from prover import cli\n",
    )
    fps = _fake("prover.fps.fake", "from prover.training import data\nfrom prover.search import api\n")
    unknown = _fake("prover.nowhere", "")
    problems = layer_violations([generation, fps, unknown])
    assert len(problems) == 4, problems  # the two imports on line 5 are one finding
    assert any(
        ":5: prover.generation.fake (generation) imports prover.search (search)" in p for p in problems
    )
    assert any(":6:" in p and "prover.cli (cli)" in p for p in problems)
    assert any("fake.py:1: prover.fps.fake imports prover.training" in p for p in problems)
    assert any("module prover.nowhere belongs to no layer" in p for p in problems)


def import_graph(modules: list[Module] = MODULES) -> dict[str, set[str]]:
    """``module -> project modules it imports`` (every import, lazy ones included). ``from P import m`` is an
    edge to the submodule ``P.m`` when there is one, else to ``P``."""
    names = {m.name for m in modules}
    graph: dict[str, set[str]] = {m.name: set() for m in modules}
    for module in modules:
        for node in ast.walk(module.tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                found = [(n, t) for n, t in _imports(_one_statement(module, node))]
                base = found[0][1] if found else ""
                subs = [t for _, t in found[1:] if t in names]
                targets = subs if len(subs) == len(found) - 1 and subs else [base, *subs]
            for target in targets:
                # ``import prover.lean.types.x``: the longest prefix that is a module
                while target and target not in names and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in names and target != module.name:
                    graph[module.name].add(target)
    return graph


def _one_statement(module: Module, node: ast.AST) -> Module:
    return Module(module.name, module.path, ast.Module(body=[node], type_ignores=[]))  # type: ignore[list-item]


def import_circles(modules: list[Module] = MODULES) -> list[list[str]]:
    """Every set of modules that import each other, directly or round a longer loop (Tarjan's SCCs)."""
    graph = import_graph(modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(start: str) -> None:  # iterative: the graph is deep enough to hit Python's recursion limit
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    circles.append(sorted(members))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return circles


def test_no_import_circle_among_project_modules() -> None:
    """A circle (``alchemy`` <-> ``alchemy_inputs`` was the last) means neither module can be read, tested or
    moved alone, and a lazy import hiding it breaks as soon as someone hoists it."""
    circles = import_circles()
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_the_circle_check_finds_a_circle_also_through_lazy_imports() -> None:
    a = _fake("prover.synthesis.fake_a", "from prover.synthesis.fake_b import f\n")
    b = _fake("prover.synthesis.fake_b", "def f():\n    from prover.synthesis import fake_c\n")
    c = _fake("prover.synthesis.fake_c", "import prover.synthesis.fake_a\n")
    d = _fake("prover.synthesis.fake_d", "from prover.synthesis.fake_a import x\n")
    circle = ["prover.synthesis.fake_a", "prover.synthesis.fake_b", "prover.synthesis.fake_c"]
    assert import_circles([a, b, c, d]) == [circle]
    assert import_circles([a, b, d]) == []


def _process_uses(module: Module) -> Iterator[tuple[ast.AST, str]]:
    for node, target in _imports(module):
        if target.split(".")[0] in PROCESS_MODULES:
            yield node, f"imports {target}"
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            pair = (node.value.id, node.attr)
            if pair in PROCESS_CALLS or any(
                node.value.id == mod and node.attr.startswith(prefix) for mod, prefix in PROCESS_CALL_PREFIXES
            ):
                yield node, f"uses {node.value.id}.{node.attr}"


def test_only_the_lean_layer_starts_processes() -> None:
    problems = []
    for module in MODULES:
        if module.name == "prover.lean" or module.name.startswith("prover.lean."):
            continue
        if module.name in PROCESS_EXCEPTIONS:
            continue
        problems.extend(f"{module.where(node)}: {module.name} {what}" for node, what in _process_uses(module))
    assert not problems, "processes started outside prover.lean:\n" + "\n".join(problems)


def test_nothing_imports_the_old_top_level_names() -> None:
    problems = []
    for folder in CODE_DIRS:
        for path in sorted((REPO / folder).rglob("*.py")) if (REPO / folder).is_dir() else []:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    if name.split(".")[0] in ("search", "retrieval"):
                        problems.append(f"{path.relative_to(REPO)}:{node.lineno}: import {name}")
    assert not problems, "use prover.search / prover.retrieval:\n" + "\n".join(problems)


def duplicate_class_names() -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for module in MODULES:
        for node in module.tree.body:
            if isinstance(node, ast.ClassDef):
                where.setdefault(node.name, []).append(module.where(node))
    return {name: places for name, places in where.items() if len(places) > 1}


def test_no_two_top_level_classes_share_a_name() -> None:
    """Two ``CorpusError`` classes (or two ``RunSummary``) make every ``except``/import a guess."""
    duplicates = duplicate_class_names()
    assert not duplicates, "\n".join(f"{name}: {', '.join(places)}" for name, places in duplicates.items())


@pytest.mark.parametrize(
    ("package", "base"),
    [
        ("prover.lean.errors", "LeanError"),
        ("prover.retrieval.errors", "RetrievalError"),
        ("prover.generation.errors", "GenerationError"),
        ("prover.search.errors", "SearchError"),
        ("prover.evaluation.errors", "EvaluationError"),
        ("prover.cli.common", "CliError"),
        ("prover.fps.errors", "FpsError"),
        ("prover.synthesis.errors", "SynthesisError"),
        ("prover.training.errors", "TrainingError"),
        ("prover.serve.errors", "ServeError"),
    ],
)
def test_package_exception_bases_derive_from_prover_error(package: str, base: str) -> None:
    """Every exception class defined in the package derives from the package's one base."""
    import importlib

    from prover.errors import ProverError

    root = importlib.import_module(package)
    base_cls = getattr(root, base)
    assert issubclass(base_cls, ProverError)
    prefix = package.rsplit(".", 1)[0]
    strays = []
    for module in MODULES:
        if not module.name.startswith(prefix + "."):
            continue
        loaded = importlib.import_module(module.name)
        for node in module.tree.body:
            if isinstance(node, ast.ClassDef):
                cls = getattr(loaded, node.name)
                if f"{module.name}.{node.name}" in CONTROL_FLOW_EXCEPTIONS:
                    continue
                if isinstance(cls, type) and issubclass(cls, BaseException) and not issubclass(cls, base_cls):
                    strays.append(f"{module.where(node)}: {node.name}")
    assert not strays, f"exceptions not deriving from {base}:\n" + "\n".join(strays)


def test_pyproject_lists_every_package_so_a_wheel_install_is_complete() -> None:
    """``packages`` is an explicit list (``retrieval/`` and ``search/`` are mapped under ``prover``): a
    sub-package missing from it works in the editable install but is absent from a built wheel."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = set()
    for package, folder in config["package-dir"].items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            on_disk.add(".".join([package, *rel.parts]))
    # prover/retrieval and prover/search are not folders; they come from the mapping
    assert on_disk - listed == set(), f"add to [tool.setuptools] packages: {sorted(on_disk - listed)}"
    assert listed - on_disk == set()
