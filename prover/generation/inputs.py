"""Checks every generator applies to its input states, so bad input fails the same clear way everywhere."""

from __future__ import annotations

from collections.abc import Sequence

#: A state longer than this is almost surely not a goal (a whole file pasted, a runaway elaboration);
#: models would truncate it silently, so it is refused with a clear message instead.
DEFAULT_MAX_STATE_CHARS = 100_000


class GenerationInputError(ValueError):
    """A state that no generator can sensibly handle (empty, absurdly long, not text)."""


def check_states(states: Sequence[str], max_chars: int = DEFAULT_MAX_STATE_CHARS) -> list[str]:
    """Return the states as a list, or raise naming the first bad one (by index)."""
    if isinstance(states, str):
        raise GenerationInputError("generate() takes a list of states, not one string")
    checked: list[str] = []
    for i, state in enumerate(states):
        if not isinstance(state, str):
            raise GenerationInputError(f"state #{i} is a {type(state).__name__}, not text")
        if not state.strip():
            raise GenerationInputError(f"state #{i} is empty: pass the goals as Lean prints them")
        if len(state) > max_chars:
            raise GenerationInputError(
                f"state #{i} has {len(state):,} characters, over the limit of {max_chars:,} "
                "(raise generator.max_state_chars if this is really one proof state)"
            )
        checked.append(state)
    return checked


def check_k(k: int) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise GenerationInputError(f"k must be a positive integer, got {k!r}")
    return k
