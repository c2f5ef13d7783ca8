"""``prover suggest``: ranked tactics for one proof state, as JSON lines (one suggestion per line).

Parsing and printing only: the generator comes from ``prover.generation.factory.make_generator``, each
suggestion is marked with the Lean layer's static guard. Library errors (``GenerationError``, ``ConfigError``)
reach ``prover.cli.main``, which prints them as one line with exit code 2.
"""

from __future__ import annotations

import argparse

from prover.cli.common import (
    CliError,
    add_config_args,
    emit,
    load_config,
    print_config_if_asked,
    read_text_arg,
)


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


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    if print_config_if_asked(args, cfg):
        return 0
    if args.k < 1:
        raise CliError(f"-k must be >= 1, got {args.k}")
    state = read_text_arg(args.state, "--state")
    from prover.generation.base import GenerationRequest
    from prover.generation.factory import make_generator
    from prover.generation.inputs import check_requests
    from prover.generation.settings import generator_settings
    from prover.lean.guard import default_tactic_guard

    settings = generator_settings(cfg.generator)
    request = GenerationRequest.from_text(state)
    check_requests([request], settings.max_state_chars)  # before a model is loaded for nothing
    generator = make_generator(settings, retriever_cfg=cfg.get("retriever"))
    try:
        suggestions = generator.generate([request], args.k)[0]
    finally:
        generator.close()
    if not suggestions:
        # silence and exit 0 would read as "it worked"; e.g. an HF model whose every output was empty/invalid
        error = CliError(
            f"generator={settings.name} proposed no valid tactic for this state "
            "(every output was empty or not a tactic)"
        )
        error.exit_code = 1
        raise error
    guard = default_tactic_guard()  # refused suggestions are marked, not hidden
    for rank, suggestion in enumerate(suggestions, start=1):
        refusals = guard(suggestion.tactic)
        record = {"rank": rank, **suggestion.to_json(), "guard_ok": not refusals}
        if refusals:
            record["guard_reasons"] = refusals
        emit(record)
    return 0
