"""The pool's step scheduler: own states first, idle processes steal the cheapest, linear work per batch."""

from __future__ import annotations

import threading

from prover.lean.repl_backend import _StepQueue


def _queue(
    owners: list[int | None], costs: dict[tuple[int, int], int] | None = None, calls: list | None = None
):
    def cost(process: int, i: int) -> int:
        if calls is not None:
            calls.append((process, i))
        if costs is not None and (process, i) in costs:
            return costs[process, i]
        return 1 if owners[i] == process else 10 + i % 7

    return _StepQueue(len(owners), lambda i: owners[i], cost, lambda p, i: owners[i] == p)


def test_own_states_first_in_input_order_then_cheapest_steal() -> None:
    owners = [1, 0, 1, None, 0, 1]
    costs = {(0, 0): 5, (0, 2): 3, (0, 3): 4, (0, 5): 9}
    q = _queue(owners, costs)
    assert [q.take(0), q.take(0)] == [1, 4]  # its own, in input order
    assert q.take(0) == 2  # then the cheapest for process 0 among what is left (3 < 4 < 5 < 9)
    assert q.take(1) == 0  # process 1 still gets its own state 0 (not stolen yet), then 5
    assert q.take(1) == 5
    assert q.take(1) == 3  # nothing of its own left: steals
    assert q.take(0) is None and q.take(1) is None


def test_a_stuck_process_only_delays_its_current_step() -> None:
    owners = [0] * 10 + [1] * 10
    q = _queue(owners)
    first = q.take(0)  # process 0 takes one step and hangs on it
    rest = []
    while (i := q.take(1)) is not None:
        rest.append(i)
    assert first == 0
    assert sorted(rest) == list(range(1, 20))  # process 1 ran its own states and stole all of process 0's
    assert rest[:10] == list(range(10, 20))


def test_every_step_taken_exactly_once_across_threads() -> None:
    n, processes = 5000, 4
    owners = [i % (processes + 1) if i % (processes + 1) < processes else None for i in range(n)]
    q = _queue(owners)
    taken: list[list[int]] = [[] for _ in range(processes)]

    def drain(p: int) -> None:
        while (i := q.take(p)) is not None:
            taken[p].append(i)

    threads = [threading.Thread(target=drain, args=(p,)) for p in range(processes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(i for part in taken for i in part) == list(range(n))


def test_cost_evaluations_grow_linearly_with_the_batch() -> None:
    def evaluations(n: int, processes: int = 4) -> int:
        calls: list = []
        q = _queue([None] * n, calls=calls)  # nobody holds anything: every take is a steal
        p = 0
        while q.take(p) is not None:
            p = (p + 1) % processes
        return len(calls)

    small, large = evaluations(256), evaluations(2048)
    assert large <= 2 * 4 * 2048  # one heap key per (process, step) plus one re-check per pop
    assert large / small < 8 * 1.5  # 8x the steps, about 8x the work (a rescan per take would be 64x)


def test_a_step_whose_cost_grew_is_rekeyed() -> None:
    owners: list[int | None] = [None, None, None]
    costs = {(0, 0): 1, (0, 1): 2, (0, 2): 3}
    q = _queue(owners, costs)
    assert q.take(0) == 0  # builds the heap with keys 1, 2, 3
    costs[0, 1] = 50  # e.g. the process restarted and lost step 1's prefix
    assert q.take(0) == 2
    assert q.take(0) == 1
