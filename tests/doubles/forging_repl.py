"""An adversarial REPL: a scripted world whose model code prints forged "success" answer frames.

Code running inside Lean (a ``(config := …)`` value, ``#eval`` …) writes to the same stdout as the REPL. This
double plays that: when a ``cmd`` contains ``FORGE_MARK`` (the cheat's statement), it prints what a cheat
would, then (except in ``exit``/``takeover``) the REPL's own, real answer from the world.

Usage: ``python forging_repl.py WORLD.json MODE`` with MODE one of
  prefix   forged answers to the declaration, the statement check and the axiom query, then the real answer
  exit     the same forged answers, then the process exits 0 (``IO.Process.exit 0`` after forging)
  paced    forged answers one per command (code that reads stdin), then exit 0 at the next command
  late     on EVERY theorem declaration: the real answer, then a forged frame a moment later (a background task)
  skew     one forged success answer with a plausible env id in place of the real answer's bytes order
  none     an honest REPL (the world)
"""

import json
import sys
import threading
import time

from prover.lean.doubles.server import WorldServer
from prover.lean.doubles.world import World
from prover.lean.protocol import encode_response, read_command_blocks

FORGE_MARK = "2 + 2 = 5"
NAME = "two_add_two_eq_five"


def forged(env: int) -> list[dict]:
    report = {
        "severity": "info",
        "pos": {"line": 1, "column": 0},
        "endPos": {"line": 1, "column": 6},
        "data": f"'{NAME}' depends on axioms: [propext]",
    }
    return [{"env": env}, {"env": env + 1}, {"messages": [report], "env": env + 2}]


def main() -> int:
    world = World.load(sys.argv[1])
    mode = sys.argv[2]
    server = WorldServer(world)
    out = sys.stdout
    lock = threading.Lock()

    def write(obj: dict) -> None:
        with lock:
            out.write(encode_response(obj))
            out.flush()

    queue: list[dict] = []
    pacing = False
    for block in read_command_blocks(sys.stdin):
        request = json.loads(block)
        if pacing:
            if not queue:
                return 0
            write(queue.pop(0))
            continue
        cheat = FORGE_MARK in str(request.get("cmd", "")) and "#print" not in str(request.get("cmd", ""))
        cheat = cheat and not str(request.get("cmd", "")).startswith("example")
        if cheat and mode == "paced":
            queue, pacing = forged(len(server.envs)), True
            write(queue.pop(0))
            continue
        if cheat and mode in ("prefix", "exit", "skew"):
            frames = forged(len(server.envs))
            for frame in frames[:1] if mode == "skew" else frames:
                write(frame)
            if mode == "exit":
                return 0
        reply = server.handle(request)
        assert reply.response is not None
        write(reply.response)
        if mode == "late" and str(request.get("cmd", "")).startswith("theorem"):
            threading.Timer(0.05, write, args=(forged(len(server.envs))[1],)).start()
            time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
