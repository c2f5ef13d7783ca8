"""A REPL double for the pool's costs: a slow import, memory that grows, commands that hang.

``python -m prover.lean.doubles.pool_repl [--import-s S] [--grow-kb K] [--hang WORD]`` speaks the REPL
protocol (``prover.lean.protocol``):

* a ``cmd`` that starts with ``import`` and names no ``env`` sleeps ``S`` seconds first (Mathlib's import);
* every answer first allocates ``K`` KB and keeps it (the REPL's memory grows with every command);
* a ``cmd`` or ``tactic`` containing ``WORD`` (default ``hang``) never answers (a looping tactic);
* otherwise a ``cmd`` answers a fresh env (with one ``sorry`` proof state when it ends with ``sorry``), and a
  tactic answers a fresh proof state (``done``: the proof is complete).

Used by ``tests/test_repl_spares.py`` and ``bench/bench_lean.py`` (``spares``, ``memory``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from prover.lean.protocol import encode_response, read_command_blocks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pool_repl")
    parser.add_argument("--import-s", type=float, default=0.0)
    parser.add_argument("--grow-kb", type=int, default=0)
    parser.add_argument("--hang", default="hang")
    args = parser.parse_args(argv)
    hoard: list[bytearray] = []
    envs = states = 0
    for block in read_command_blocks(sys.stdin):
        try:
            request: dict[str, Any] = json.loads(block)
        except json.JSONDecodeError:
            request = {}
        if args.grow_kb:
            chunk = bytearray(args.grow_kb * 1024)
            chunk[::4096] = b"x" * len(chunk[::4096])  # touch every page: resident, not only reserved
            hoard.append(chunk)
        text = str(request.get("cmd", request.get("tactic", "")))
        if args.hang and args.hang in text:
            time.sleep(3600)
        answer: dict[str, Any]
        if "tactic" in request:
            if text.strip() == "done":
                answer = {"proofState": states, "goals": [], "proofStatus": "Completed"}
            else:
                answer = {"proofState": states, "goals": ["⊢ True"], "proofStatus": "Incomplete"}
            states += 1
        else:
            if text.lstrip().startswith("import") and request.get("env") is None and args.import_s:
                time.sleep(args.import_s)
            answer = {"env": envs}
            if text.rstrip().endswith("sorry"):
                answer["sorries"] = [
                    {
                        "proofState": states,
                        "goal": "⊢ True",
                        "pos": {"line": 1, "column": 0},
                        "endPos": {"line": 1, "column": 5},
                    }
                ]
                states += 1
            envs += 1
        sys.stdout.write(encode_response(answer))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
