"""Checks every generator applies to its input requests, so bad input fails the same clear way everywhere."""

from __future__ import annotations

from collections.abc import Sequence

from prover.generation.base import GenerationRequest
from prover.generation.errors import GenerationError

#: A state longer than this is almost surely not a goal (a whole file pasted, a runaway elaboration);
#: models would truncate it silently, so it is refused with a clear message instead.
DEFAULT_MAX_STATE_CHARS = 100_000


class GenerationInputError(GenerationError):
    """A state that no generator can sensibly handle (empty, absurdly long, not text)."""


def check_states(
    states: Sequence[str], max_chars: int = DEFAULT_MAX_STATE_CHARS, first_index: int = 0
) -> list[str]:
    """Return the states (goal texts) as a list, or raise naming the first bad one (by index)."""
    if isinstance(states, str):
        raise GenerationInputError("expected a list of states, not one string")
    checked: list[str] = []
    for i, state in enumerate(states, start=first_index):
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


def check_requests(
    requests: Sequence[GenerationRequest], max_chars: int = DEFAULT_MAX_STATE_CHARS
) -> list[GenerationRequest]:
    """Return the requests as a list, or raise naming the first bad one (by index).

    A request must carry at least one non-blank goal and its goals together must stay under ``max_chars``.
    """
    if isinstance(requests, str | GenerationRequest):
        raise GenerationInputError("generate() takes a list of GenerationRequest objects, not one")
    checked: list[GenerationRequest] = []
    for i, request in enumerate(requests):
        if not isinstance(request, GenerationRequest):
            hint = " (wrap goal text with GenerationRequest.from_text)" if isinstance(request, str) else ""
            raise GenerationInputError(
                f"request #{i} is a {type(request).__name__}, not a GenerationRequest{hint}"
            )
        if not any(goal.strip() for goal in request.goals):
            raise GenerationInputError(f"request #{i} is empty: it has no goals to generate a tactic for")
        check_states([request.text], max_chars, first_index=i)
        checked.append(request)
    return checked


def check_k(k: int) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise GenerationInputError(f"k must be a positive integer, got {k!r}")
    return k
