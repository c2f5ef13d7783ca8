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

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Annotated, Any, TypeVar, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

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
    data = _plain(cfg, group, ConfigError)
    skipped = set(ignore)
    data = {k: v for k, v in data.items() if k not in skipped}
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, group, cls.known_keys())) from None


def _plain(cfg: Any, group: str, error: type[ConfigError]) -> dict[str, Any]:
    """``cfg`` as a plain dict; a config that is not a mapping is ``error`` (one sentence naming ``group``)."""
    try:
        return as_plain_dict(cfg, f"{group} config")
    except ValueError as exc:
        raise error(str(exc)) from None


def tags_of(model: type[Settings]) -> tuple[str, ...]:
    """The ``name`` values that pick ``model`` (its ``name: Literal[...]`` field)."""
    field = model.model_fields.get("name")
    return tuple(str(t) for t in get_args(field.annotation)) if field is not None else ()


@lru_cache(maxsize=64)
def one_of(models: tuple[type[Settings], ...]) -> TypeAdapter[Any]:
    """The pydantic discriminated union of ``models`` on their ``name`` field (``Field(discriminator="name")``):
    one validator that picks the model by ``name``, for a config group with several kinds."""
    if len(models) == 1:
        return TypeAdapter(models[0])
    return TypeAdapter(Annotated[Union[models], Field(discriminator="name")])  # type: ignore[arg-type]  # noqa: UP007 (a runtime tuple)


def load_one_of(
    models: Sequence[type[S]] | Mapping[str, type[S]],
    cfg: Any,
    group: str,
    *,
    default: str | None = None,
    error: type[ConfigError] = ConfigError,
) -> S:
    """The settings of a group with several kinds (``search``: bfs, mcts, ...), chosen by the config's ``name``.

    Validation is the discriminated union of ``models`` (:func:`one_of`); what this adds is the group's
    sentences: an unknown or missing ``name`` lists the kinds, a bad key names ``group.key`` and the chosen
    kind's known keys. ``default``: the kind when ``name`` is absent. An instance of one of ``models`` is
    returned as it is. Raises ``error`` (a :class:`ConfigError`).
    """
    choices = tuple(models.values()) if isinstance(models, Mapping) else tuple(models)
    if isinstance(cfg, choices):
        return cfg
    data = _plain(cfg, group, error)
    if default is not None:
        data.setdefault("name", default)
    by_tag = {tag: model for model in choices for tag in tags_of(model)}
    name = data.get("name")
    if not isinstance(name, str) or name not in by_tag:
        raise error(f"unknown {group} {name!r}; choose one of: {', '.join(by_tag)}")
    try:
        return one_of(choices).validate_python(data)  # type: ignore[no-any-return]
    except ValidationError:
        pass
    try:  # the chosen kind alone, for errors whose keys are the group's (not prefixed with the union's tag)
        by_tag[name].model_validate(data)
    except ValidationError as exc:
        raise error(describe_validation_error(exc, group, by_tag[name].known_keys())) from None
    raise error(
        f"{group}: the settings of {name!r} do not validate"
    )  # not reached: the kind alone failed too


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
