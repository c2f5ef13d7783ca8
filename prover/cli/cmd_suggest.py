"""``prover suggest``: ranked tactics for one proof state, as JSON lines (one suggestion per line)."""

from __future__ import annotations

import argparse
import sys

from prover.cli.common import CliError, add_config_args, emit, load_config, print_config_if_asked


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "suggest",
        help="suggest ranked tactics for a proof state",
        description="Print up to K tactics for a proof state as JSON lines, best first. "
        "Example: prover suggest --state $'n : ℕ\\n⊢ n + 0 = n' -k 8 generator=knn",
    )
    parser.add_argument("--state", required=True, help="the goals as Lean prints them; '-' reads stdin")
    parser.add_argument("-k", type=int, default=8, help="number of suggestions (default 8)")
    add_config_args(parser)
    parser.set_defaults(func=run)


def _guard() -> object | None:
    """The Lean layer's static guard, when it exists (suggestions it refuses are marked, not hidden)."""
    try:
        from prover.lean.guard import default_tactic_guard
    except ImportError:
        return None
    return default_tactic_guard()


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    state = sys.stdin.read() if args.state == "-" else args.state
    if args.k < 1:
        raise CliError(f"-k must be >= 1, got {args.k}")
    from prover.generation.base import GenerationRequest
    from prover.generation.factory import GeneratorConfigError, make_generator
    from prover.generation.hf import ModelLoadError
    from prover.generation.inputs import GenerationInputError, check_requests
    from prover.generation.settings import generator_settings

    try:
        settings = generator_settings(cfg.generator)
        request = GenerationRequest.from_text(state)
        check_requests([request], settings.max_state_chars)
        generator = make_generator(settings, retriever_cfg=cfg.get("retriever"))
        suggestions = generator.generate([request], args.k)[0]
    except (GenerationInputError, GeneratorConfigError, ModelLoadError) as exc:
        raise CliError(str(exc)) from exc
    guard = _guard()
    for rank, suggestion in enumerate(suggestions, start=1):
        record = {"rank": rank, **suggestion.to_json()}
        if guard is not None:
            refusals = list(guard(suggestion.tactic))  # type: ignore[operator]
            record["guard_ok"] = not refusals
            if refusals:
                record["guard_reasons"] = refusals
        emit(record)
    generator.close()
    return 0
