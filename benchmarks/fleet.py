"""Fleet benchmark: `mlops check` on the reference stacks and on generated fleets of team stacks.

    python benchmarks/fleet.py [N ...]        (default: 9 50 200)

Each run is a fresh `mlops check --no-cache` process (cold imports and every stack planned; the
plan cache has its own benchmark, cache.py), once in one process (--jobs 1) and once with the
default worker count (--jobs 0). Prints wall time, time per
stack, the peak resident memory of the largest process, and the marginal cost per extra stack
between fleet sizes (flat means no super-linear growth). Targets (2 cores): the nine reference
stacks under 5 s, 200 stacks under 60 s, peak memory under 1 GB.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from infra.scaffold import fleet_specs

ROOT = Path(__file__).resolve().parent.parent
CHECK = "from infra.cli import main; main()"


def write_fleet(directory: Path, n: int) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", directory)
    (directory / "stacks").mkdir()
    for name, spec in fleet_specs(n):
        (directory / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": {"mlops:spec": spec}}))


def timed_check(directory: Path, jobs: int) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB of the largest process, exit code) of `mlops check --all`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHECK, "check", "--all", "--jobs", str(jobs), "--no-cache"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - started
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    if done.returncode not in (0, 1):
        sys.exit(f"mlops check failed in {directory}: {done.stderr.strip()}")
    return wall, peak, done.returncode


def report(label: str, n: int, directory: Path, rows: list[tuple[str, int, str, float]]) -> None:
    for jobs, name in ((1, "1 process"), (0, "auto jobs")):
        wall, peak, code = timed_check(directory, jobs)
        rows.append((label, n, name, wall))
        verdict = "" if code == 0 else "  (mandatory violations)"
        print(
            f"{label:<22} {n:4d} stacks  {name:<10} {wall:7.2f} s wall  {1000 * wall / n:6.0f} ms/stack"
            f"  peak {peak:5.0f} MiB{verdict}",
            flush=True,
        )


def main(sizes: list[int]) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        flush=True,
    )
    rows: list[tuple[str, int, str, float]] = []
    report("reference stacks", 9, ROOT, rows)
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            write_fleet(Path(tmp), n)
            report("generated team stacks", n, Path(tmp), rows)
    generated = [(n, mode, wall) for label, n, mode, wall in rows if label != "reference stacks"]
    for mode in ("1 process", "auto jobs"):
        points = sorted((n, wall) for n, m, wall in generated if m == mode)
        marginal = [
            f"{1000 * (w2 - w1) / (n2 - n1):.0f} ms" for (n1, w1), (n2, w2) in zip(points, points[1:], strict=False)
        ]
        print(f"marginal cost per extra stack ({mode}): {', '.join(marginal) or 'n/a'}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [9, 50, 200])
