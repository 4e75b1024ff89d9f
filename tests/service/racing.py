"""Start several lease keepers at the same instant and report who got the lease."""

from __future__ import annotations

import threading

from agent.actions.lease import LeaseKeeper


def race(keepers: list[LeaseKeeper], join_seconds: float = 30) -> dict[str, bool]:
    """Each keeper's refresh() result, all released together by a barrier."""
    barrier = threading.Barrier(len(keepers))
    results: dict[str, bool] = {}

    def contend(keeper: LeaseKeeper) -> None:
        barrier.wait(timeout=30)
        results[keeper.me] = keeper.refresh()

    threads = [threading.Thread(target=contend, args=(keeper,)) for keeper in keepers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(join_seconds)
    return results
