"""Progress lines of a synthesis run on stderr: items done of the total, what is verified so far, time left.

Through the project's one progress switch (``prover.progress``): shown without ``-v``, quiet with
``--no-progress``. Lines, not a redrawn bar, at most every ``every_s`` seconds and always for the last item, so a
run of hours says where it is and a log stays readable.
"""

from __future__ import annotations

import time

from prover import progress


class SynthProgress:
    """``prover synth WHO: 12/40 samples, 9 verified (~310 s left)``; ``done``: items finished by an earlier
    invocation (a resumed run), counted in the total but not in the rate."""

    def __init__(self, who: str, total: int, unit: str, done: int = 0, every_s: float = 5.0) -> None:
        self.who = who
        self.total = total
        self.unit = unit
        self.done = done
        self.every_s = every_s
        self._new = 0
        self._started = self._last = time.monotonic()

    def begin(self, verb: str = "write", detail: str = "") -> None:
        """The first line: how much there is to do (and what an earlier invocation already did)."""
        todo = self.total - self.done
        earlier = f", {self.done} done before" if self.done else ""
        progress.say(self.who, f"{todo} of {self.total} {self.unit} to {verb}{earlier}{detail}")

    def advance(self, tally: str) -> None:
        """One more item finished; ``tally``: what the run has verified so far (``9 verified``)."""
        self.done += 1
        self._new += 1
        now = time.monotonic()
        if not progress.enabled() or (now - self._last < self.every_s and self.done < self.total):
            return
        self._last = now
        rate = self._new / max(now - self._started, 1e-9)
        left = f" (~{(self.total - self.done) / rate:.0f} s left)" if self.done < self.total else ""
        progress.say(self.who, f"{self.done}/{self.total} {self.unit}, {tally}{left}")
