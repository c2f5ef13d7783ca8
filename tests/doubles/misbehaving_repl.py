"""A tiny REPL double whose tactics misbehave on request, to test the client's robustness.

Speaks the REPL framing (commands: a block of lines ending with a blank line; answers: JSON + blank line).
``{"cmd": ...}`` answers an env (and a root ``sorry`` state when the command ends with ``sorry``);
``{"tactic": T, "proofState": n}`` behaves according to T:
  ok      -> a new state with one goal          done     -> goals [] Completed
  crash   -> half an answer, then exit 3        hang     -> never answers
  garbage -> a non-JSON line                    split    -> the answer in pieces, with pauses
  huge    -> a ~20 MB goal                      badbyte  -> a goal containing the byte 0xFF
  grow    -> allocate ~300 MB, then answer      exit     -> exit 0 silently (EOF)
  nap*    -> a new state after 0.2 s (a slow tactic)
Argument ``--crash-on-start`` exits before reading anything.
"""

import json
import os
import sys
import time

out = sys.stdout.buffer
next_state = 0
next_env = 0
hoard = []


def send(obj):
    out.write(json.dumps(obj, indent=1).encode() + b"\n\n")
    out.flush()


def new_state():
    global next_state
    next_state += 1
    return next_state - 1


def handle(cmd):
    global next_env
    if "cmd" in cmd:
        env, next_env = next_env, next_env + 1
        if cmd["cmd"].rstrip().endswith("sorry"):
            send(
                {
                    "sorries": [
                        {
                            "proofState": new_state(),
                            "goal": "⊢ P",
                            "pos": {"line": 1, "column": 0},
                            "endPos": {"line": 1, "column": 5},
                        }
                    ],
                    "env": env,
                }
            )
        else:
            send({"env": env})
        return
    tactic = cmd.get("tactic")
    if tactic == "crash":
        out.write(b'{"proofState": 1,\n "goa')
        out.flush()
        os._exit(3)
    if tactic == "exit":
        os._exit(0)
    if tactic == "hang":
        time.sleep(3600)
    if tactic == "garbage":
        out.write(b"PANIC at Lean.Elab: this is not JSON\n\n")
        out.flush()
        return
    if tactic == "split":
        text = (
            json.dumps(
                {
                    "proofState": new_state(),
                    "goals": ["⊢ split"],
                    "proofStatus": "Incomplete: open goals remain",
                },
                indent=1,
            ).encode()
            + b"\n\n"
        )
        for i in range(0, len(text), 7):
            out.write(text[i : i + 7])
            out.flush()
            time.sleep(0.01)
        return
    if tactic == "huge":
        send(
            {
                "proofState": new_state(),
                "goals": ["⊢ " + "x" * 20_000_000],
                "proofStatus": "Incomplete: open goals remain",
            }
        )
        return
    if tactic == "badbyte":
        out.write(
            b'{"proofState": %d, "goals": ["\xff\xfe \xe2\x8a\xa2 bad"],\n "proofStatus": "Incomplete: open goals remain"}\n\n'
            % new_state()
        )
        out.flush()
        return
    if tactic == "grow":
        hoard.append(bytearray(300 * 1024 * 1024))
        for i in range(0, len(hoard[-1]), 4096):
            hoard[-1][i] = 1
    if tactic.startswith("nap"):
        time.sleep(0.2)
    if tactic == "done":
        send({"proofState": new_state(), "goals": [], "proofStatus": "Completed"})
        return
    send(
        {
            "proofState": new_state(),
            "goals": [f"⊢ after {tactic}"],
            "proofStatus": "Incomplete: open goals remain",
        }
    )


def main():
    if "--crash-on-start" in sys.argv:
        sys.stderr.write("cannot load Mathlib\n")
        sys.exit(5)
    block = []
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", errors="replace")
        if line.strip():
            block.append(line.rstrip())
            continue
        if block:
            handle(json.loads("".join(block)))
            block = []


main()
