"""One config idiom: a typed settings model per config group, built from a hydra node or a plain dict.

Why one idiom: defaults written once (in the model; the YAML files mirror them and a test checks that),
unknown keys rejected with the list of known ones (a typo such as ``search.max_expantions`` must not be
silently dropped), values validated and coerced once, and one error type whose message names the key.

Usage::

    class SearchSettings(Settings):
        max_expansions: PositiveInt = 100

    settings = load_settings(SearchSettings, cfg.search, "search")

Group files may carry keys that belong to the group as a whole rather than to one model (``name``, the
option that picked the file); :func:`load_settings` accepts ``ignore=`` for such keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from prover.config import as_plain_dict
from prover.errors import ConfigError

S = TypeVar("S", bound="Settings")


class Settings(BaseModel):
    """Base of every settings model: unknown keys are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    @classmethod
    def known_keys(cls) -> list[str]:
        return sorted(cls.model_fields)


def load_settings(cls: type[S], cfg: Any, group: str, ignore: Iterable[str] = ()) -> S:
    """Build ``cls`` from a hydra node, a mapping, ``None`` (all defaults) or an instance of ``cls``.

    Raises :class:`ConfigError` with one sentence per problem, each naming ``group.key``.
    """
    if isinstance(cfg, cls):
        return cfg
    try:
        data = as_plain_dict(cfg, f"{group} config")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    skipped = set(ignore)
    data = {k: v for k, v in data.items() if k not in skipped}
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, group, cls.known_keys())) from None


def describe_validation_error(exc: ValidationError, group: str, known: list[str]) -> str:
    """Pydantic's error list as short sentences: ``search.max_expansions: expected an integer, got '1O'``."""
    problems = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err.get("loc", ())) or "(root)"
        if err.get("type") == "extra_forbidden":
            problems.append(f"unknown key {group}.{key} (known keys: {', '.join(known)})")
            continue
        given = err.get("input")
        shown = repr(given) if not isinstance(given, dict) else "a mapping"
        if len(shown) > 80:
            shown = shown[:77] + "..."
        problems.append(f"{group}.{key}: {err.get('msg', 'invalid value')}, got {shown}")
    return "; ".join(problems)
