"""Time offline plans of the reference stacks in one process and print the figures.

    python benchmarks/plan_reference_stacks.py [STACK ...]

Prints, per stack, resources planned and wall time; then the total, the first-plan overhead
(imports of the cloud SDKs) and the process's peak resident memory.
"""

from __future__ import annotations

import resource
import sys
import time

from infra import stackfile
from infra.engine import plan_stack
from infra.program import CloudUnavailable


def main(refs: list[str]) -> None:
    paths = refs or [str(p) for p in stackfile.all_stack_paths()]
    started = time.perf_counter()
    for ref in paths:
        stack = stackfile.load(ref)
        t0 = time.perf_counter()
        try:
            plan = plan_stack(stack)
        except CloudUnavailable as exc:
            print(f"{stack.name:<16} skipped: {exc}")
            continue
        print(f"{stack.name:<16} {len(plan.resources):4d} resources  {time.perf_counter() - t0:6.2f} s")
    total = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total {total:.2f} s for {len(paths)} stacks; peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main(sys.argv[1:])
