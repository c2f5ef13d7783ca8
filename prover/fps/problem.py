"""FPS problems as typed values, read from the benchmark JSON-lines files (untrusted input).

A problem is the reference's record: ``intros`` (variables in scope of the answer), ``outros`` (hypotheses
about the answer; the last one is the conclusion and mentions ``answer``), the answer's type and the ground
truth ``formal_answer`` (a Prop about ``answer``). Bad lines are reported by ``file:line``, never dropped
silently, and a file with nothing usable is one :class:`FpsLoadError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from prover.fps.errors import FpsError
from prover.jsonl import BadLine, json_object_lines

#: The header the reference uses when a problem has none (``header: null``).
DEFAULT_HEADER = "open BigOperators Real Nat Topology"
#: The name of the answer variable in every statement.
ANSWER = "answer"
#: Names that stand for "no name": the binder prints as an instance binder ``[t]``.
ANONYMOUS = (None, "_")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class FpsLoadError(FpsError, ValueError):
    """An FPS benchmark file that cannot be used at all."""


class Variable(BaseModel):
    """One binder: ``t`` its type, ``name`` (``None``/``_``: anonymous), ``v`` an optional value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    t: str = Field(min_length=1)
    name: str | None = None
    v: str | None = None

    @field_validator("t", "name", "v")
    @classmethod
    def _no_control(cls, value: str | None) -> str | None:
        if value is not None and _CONTROL.search(value):
            raise ValueError("contains a control character")
        return value

    @property
    def anonymous(self) -> bool:
        return self.name in ANONYMOUS

    def binder(self) -> str:
        """``(name : t)``, ``(name : t := v)`` with a value, or ``[t]`` when anonymous (an instance)."""
        if self.anonymous:
            return f"[{self.t}]"
        if self.v is not None:
            return f"({self.name} : {self.t} := {self.v})"
        return f"({self.name} : {self.t})"

    @property
    def intro_name(self) -> str:
        """The name ``intro`` gives it (``_`` for an anonymous binder: still a local instance)."""
        return "_" if self.anonymous else str(self.name)


def binders(variables: Iterable[Variable]) -> str:
    """The binders of ``variables`` separated by spaces, as the reference prints them."""
    return " ".join(v.binder() for v in variables)


class FpsProblem(BaseModel):
    """One FPS benchmark problem (the reference's fields, plus our ``id`` and ``source``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1)
    source: str = ""
    informal_problem: str = ""
    informal_answer: str = ""
    header: str | None = None
    intros: tuple[Variable, ...] = ()
    outros: tuple[Variable, ...] = Field(min_length=1)
    formal_answer: str = Field(min_length=1)
    formal_answer_type: str = Field(min_length=1)
    metainfo: dict[str, Any] = Field(default_factory=dict)

    @field_validator("header", "formal_answer", "formal_answer_type")
    @classmethod
    def _no_control(cls, value: str | None) -> str | None:
        if value is not None and _CONTROL.search(value.replace("\n", "").replace("\t", "")):
            raise ValueError("contains a control character")
        return value

    @property
    def lean_header(self) -> str:
        """The problem's own header, or :data:`DEFAULT_HEADER` (``open`` lines; ``import Mathlib`` is the
        session's)."""
        return self.header.strip() if self.header and self.header.strip() else DEFAULT_HEADER

    @property
    def goal(self) -> Variable:
        """The last outro: the conclusion, which mentions ``answer``."""
        return self.outros[-1]

    @property
    def hypotheses(self) -> tuple[Variable, ...]:
        """The outros before the conclusion (they may mention ``answer``)."""
        return self.outros[:-1]

    @property
    def is_prop_answer(self) -> bool:
        """The answer is a proposition (RPE then compares ``↔``, not ``=``)."""
        return self.formal_answer_type.strip() == "Prop"

    @property
    def category(self) -> str:
        """For reports: the answer type (``ℕ``, ``ℝ``, ``Prop``, ``Set ℝ`` ...)."""
        return " ".join(self.formal_answer_type.split())

    def intro_names(self) -> list[str]:
        """The intros' names (not anonymous ones): what an answer may mention."""
        return [str(v.name) for v in self.intros if not v.anonymous]


@dataclass
class FpsLoadReport:
    problems: list[FpsProblem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def problem_id(obj: dict[str, Any], stem: str, number: int) -> str:
    """``metainfo.problem_name`` / ``metainfo.id`` when present, else ``STEM-NNNN`` (1-based entry number)."""
    meta = obj.get("metainfo")
    if isinstance(meta, dict):
        for key in ("problem_name", "id", "name"):
            value = meta.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return f"{stem}-{number:04d}"


def problem_from_json(obj: dict[str, Any], ident: str, source: str = "") -> FpsProblem:
    """Validate one record; raises ``ValueError`` with one line naming the field."""
    try:
        return FpsProblem.model_validate({**obj, "id": ident, "source": source})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "record"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ValueError(f"{where}: {err.get('msg', 'invalid')}{more}") from None


def load_fps_file(path: str | Path, source: str | None = None) -> FpsLoadReport:
    """Every problem of an FPS JSON-lines file; malformed entries are skipped with ``file:line`` and why."""
    from prover.evaluation.benchmarks import BenchmarkError, check_regular_file

    path = Path(path).expanduser()
    try:
        check_regular_file(path)
    except BenchmarkError as exc:
        raise FpsLoadError(str(exc)) from None
    report = FpsLoadReport()
    seen: set[str] = set()
    for number, (where, item) in enumerate(json_object_lines(path, label=path.name), start=1):
        if isinstance(item, BadLine):
            report.skipped.append((where, item.describe().removeprefix(f"{where}: ")))
            continue
        ident = problem_id(item, path.stem, number)
        if ident in seen:
            ident = f"{ident}-{number:04d}"
        try:
            problem = problem_from_json(item, ident, source or path.stem)
        except ValueError as exc:
            report.skipped.append((where, str(exc)))
            continue
        seen.add(ident)
        report.problems.append(problem)
    if not report.problems:
        first = f" (the first, {report.skipped[0][0]}: {report.skipped[0][1]})" if report.skipped else ""
        raise FpsLoadError(f"{path}: no FPS problem could be read{first}")
    return report


def select_problems(
    problems: Sequence[FpsProblem], limit: int | None = None, names: Iterable[str] | None = None
) -> list[FpsProblem]:
    """Keep ``names`` (an unknown name is an error) in file order, then the first ``limit``."""
    chosen = list(problems)
    if names is not None:
        wanted = list(dict.fromkeys(str(n) for n in names))
        unknown = [n for n in wanted if not any(p.id == n for p in chosen)]
        if unknown:
            raise FpsLoadError(f"no FPS problem named {', '.join(map(repr, unknown))}")
        chosen = [p for p in chosen if p.id in wanted]
    return chosen[:limit] if limit else chosen


def load_fps_benchmark(
    name: str | None, path: str | None = None, limit: int | None = None, names: Iterable[str] | None = None
) -> tuple[list[FpsProblem], FpsLoadReport]:
    """The problems of manifest entry ``name`` (kind ``fps_benchmark``, from the fetch cache), or of ``path``."""
    from prover.evaluation.manifest import ManifestError, cached_path, load_manifest, warn_version_mismatch

    if path:
        resolved = Path(path).expanduser()
    else:
        try:
            entry = load_manifest().get(str(name))
        except ManifestError as exc:
            raise FpsLoadError(f"{exc}; or set benchmark.path=FILE") from None
        if entry.kind != "fps_benchmark":
            raise FpsLoadError(f"{name!r} is a {entry.kind}, not an FPS benchmark (fps_*)")
        resolved = cached_path(entry)
        if not resolved.is_file():
            raise FpsLoadError(
                f"benchmark {name!r} is not fetched yet: run `prover data fetch {name}` "
                f"(or `prover data fetch {name} --from FILE`), or set benchmark.path=FILE"
            )
        warn_version_mismatch(entry)  # only for a benchmark that will run: a refusal stays one sentence
    report = load_fps_file(resolved, str(name or resolved.stem))
    return select_problems(report.problems, limit, names), report
