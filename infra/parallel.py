"""Spread per-stack work over worker processes.

Most of a cold plan is the cloud SDK building its classes on first use (1-3 s per cloud per
process), so stacks are assigned to workers by cloud: whole cloud groups first (longest first),
then stacks move off the busiest worker only while that shortens the longest worker's time. The
same cost model decides how many workers are worth starting (`jobs=0`).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Sequence
from typing import Any

# Measured on the reference machine (2 cores): first-use SDK cost per process, and warm cost of
# planning and checking one stack. Only their ratios matter for the assignment.
IMPORT_SECONDS = {"aws": 1.3, "azure": 1.4, "gcp": 2.5}
STACK_SECONDS = 0.4
WORKER_SECONDS = 0.15  # starting and collecting one forked worker


def _cost(counts: dict[str, int]) -> float:
    return sum(IMPORT_SECONDS.get(c, 1.0) + n * STACK_SECONDS for c, n in counts.items() if n)


def assign(clouds: Sequence[str], jobs: int) -> list[list[int]]:
    """Indices of `clouds` per worker, keeping each cloud in as few workers as balance allows."""
    groups: dict[str, list[int]] = {}
    for index, cloud in enumerate(clouds):
        groups.setdefault(cloud, []).append(index)
    workers: list[dict[str, list[int]]] = [{} for _ in range(max(1, jobs))]

    def load(w: dict[str, list[int]]) -> float:
        return _cost({c: len(ix) for c, ix in w.items()})

    for cloud, indices in sorted(groups.items(), key=lambda g: -_cost({g[0]: len(g[1])})):
        min(workers, key=load).setdefault(cloud, []).extend(indices)
    while True:  # move stacks from the busiest to the idlest worker while the makespan shrinks
        busiest, idlest = max(workers, key=load), min(workers, key=load)
        best = (max(load(busiest), load(idlest)), None, 0)
        for cloud, indices in busiest.items():
            for k in range(1, len(indices) + 1):
                src = {c: len(ix) - (k if c == cloud else 0) for c, ix in busiest.items()}
                dst = {c: len(ix) for c, ix in idlest.items()}
                dst[cloud] = dst.get(cloud, 0) + k
                span = max(_cost(src), _cost(dst))
                if span < best[0] - 1e-9:
                    best = (span, cloud, k)
        if best[1] is None:
            break
        moved = busiest[best[1]][-best[2] :]
        del busiest[best[1]][-best[2] :]
        idlest.setdefault(best[1], []).extend(moved)
    return [sorted(i for ix in w.values() for i in ix) for w in workers if any(w.values())]


def predicted_seconds(clouds: Sequence[str], jobs: int) -> float:
    plan = assign(clouds, jobs)
    spans = [_cost(_counts([clouds[i] for i in ix])) for ix in plan]
    return max(spans, default=0.0) + (WORKER_SECONDS * len(plan) if jobs > 1 else 0.0)


def auto_jobs(clouds: Sequence[str]) -> int:
    """The number of workers (up to the CPU count) with the shortest predicted wall time."""
    limit = max(1, min(os.cpu_count() or 1, len(clouds)))
    return min(range(1, limit + 1), key=lambda j: (predicted_seconds(clouds, j), j))


def _counts(clouds: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for cloud in clouds:
        counts[cloud] = counts.get(cloud, 0) + 1
    return counts


def _worker(work: Callable[[Any], Any], items: list[tuple[int, Any]], results: Any) -> None:
    # Ctrl-C reaches the whole process group; the parent alone answers it (and stops the workers),
    # so a worker never prints a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for index, item in items:
        results.put((index, work(item)))


def run(
    items: Sequence[Any],
    clouds: Sequence[str],
    work: Callable[[Any], Any],
    jobs: int,
    on_result: Callable[[Any], None] = lambda _: None,
) -> list[Any]:
    """`work(item)` for every item, in `jobs` processes; results in input order.

    `work` must be a module-level function that returns (not raises) a picklable result.
    """
    if jobs <= 1 or len(items) <= 1:
        results = []
        for item in items:
            results.append(work(item))
            on_result(results[-1])
        return results
    context: Any = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    channel = context.Queue()
    processes = [
        context.Process(target=_worker, args=(work, [(i, items[i]) for i in indices], channel), daemon=True)
        for indices in assign(clouds, jobs)
    ]
    for process in processes:
        process.start()
    collected: dict[int, Any] = {}
    try:
        while len(collected) < len(items):
            try:
                index, result = channel.get(timeout=0.5)
            except queue.Empty:
                if not any(p.is_alive() for p in processes) and channel.empty():
                    raise RuntimeError("a worker process exited without finishing its stacks") from None
                continue
            collected[index] = result
            on_result(result)
    except BaseException:  # Ctrl-C or a failure: stop the workers before the error reaches the user
        for process in processes:
            process.terminate()
        raise
    finally:
        for process in processes:
            process.join()
    return [collected[i] for i in range(len(items))]
