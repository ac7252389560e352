"""Cache benchmark: what a fleet's `mlops check --all` costs when nothing or one stack changed,
and a cold single-stack check of this tree next to another checkout's (e.g. main).

    python benchmarks/cache.py [--baseline DIR] [--stack aws-dev] [--repeat 3] [N ...]   (default N: 9 200)

Every figure is a fresh `mlops check` process. A fleet is N team stacks written by `mlops new`
(the `new_stack` function behind it) into a temporary project; the scenario runs, in one go:
cold (empty cache), unchanged (second run), one stack edited (a line appended to its file), and a
cold check of that stack alone. `--baseline DIR` also times the cold single-stack check of the
checkout in DIR, run with this interpreter (`PYTHONPATH=DIR`), alternating with this tree's
`--no-cache` run. Byte-code is written before timing (as an installed package has it), so
"cold" means a new process with nothing planned, not uncompiled sources. The machine is shared:
compare the ratios printed, measured in the same run; absolute seconds are context only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = "from infra.cli import main; main()"
CLOUD_OPTIONS = {
    "aws": {},
    "azure": {},
    "gcp": {"project_id": "mlops-bench-{i:03d}", "billing_account": "012345-6789AB-CDEF01"},
}


def environment(code_root: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "MLOPS_CACHE_DIR")}
    if code_root is not None:
        env["PYTHONPATH"] = str(code_root)
    return env


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its workers) of one `mlops` run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHECK, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"mlops {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def write_fleet(directory: Path, n: int) -> list[str]:
    """N team stacks across clouds and environments, as `mlops new` writes them."""
    from infra.scaffold import new_stack

    shutil.copy(ROOT / "Pulumi.yaml", directory)
    (directory / "stacks").mkdir()
    names = []
    combos = itertools.cycle(itertools.product(("aws", "azure", "gcp"), ("dev", "staging", "prod")))
    for i, (cloud, env) in zip(range(n), combos, strict=False):
        extra = {k: v.format(i=i) for k, v in CLOUD_OPTIONS[cloud].items()}
        path = new_stack(
            f"team{i:03d}",
            cloud,
            env,
            root=directory,
            owner=f"team{i:03d}@example.com",
            cost_center=f"cc-{i % 7}",
            **extra,
        )
        names.append(path.name[len("Pulumi.") : -len(".yaml")])
    return names


def cold_start(stack: str, baseline: Path, repeat: int) -> None:
    ours, theirs = environment(), environment(baseline)
    timed(["check", stack, "--no-cache"], ROOT, ours)  # byte-code of both trees, not timed
    timed(["check", stack], baseline, theirs)
    runs: dict[str, list[tuple[float, float]]] = {"this tree": [], "baseline": []}
    for _ in range(repeat):
        runs["this tree"].append(timed(["check", stack, "--no-cache"], ROOT, ours))
        runs["baseline"].append(timed(["check", stack], baseline, theirs))
    median = {
        name: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for name, r in runs.items()
    }
    for name, (wall, cpu) in median.items():
        print(f"cold `check {stack}`  {name:<10} median of {repeat}: {wall:6.2f} s wall  {cpu:6.2f} s CPU", flush=True)
    print(
        f"cold single-stack speed-up vs {baseline}: {median['baseline'][0] / median['this tree'][0]:.2f}x wall, "
        f"{median['baseline'][1] / median['this tree'][1]:.2f}x CPU (goal >= 1.5x)",
        flush=True,
    )


def fleet(n: int) -> float:
    """Run the scenario on N stacks; returns the edited run's wall time minus the single cold check."""
    with tempfile.TemporaryDirectory() as tmp:
        directory, env = Path(tmp), environment()
        names = write_fleet(directory, n)
        cold = timed(["check", "--all"], directory, env)
        unchanged = timed(["check", "--all"], directory, env)
        edited_path = directory / "stacks" / f"Pulumi.{names[0]}.yaml"
        edited_path.write_text(edited_path.read_text() + "# edited\n")
        edited = timed(["check", "--all"], directory, env)
        alone = timed(["check", names[0], "--no-cache"], directory, env)
        cache_mib = sum(p.stat().st_size for p in (directory / ".mlops" / "cache").iterdir()) / 2**20
    print(
        f"{n:4d} stacks: cold {cold[0]:6.2f} s | unchanged {unchanged[0]:5.2f} s = {unchanged[0] / cold[0]:.2f}x cold "
        f"(CPU {unchanged[1] / cold[1]:.2f}x; goal <= 0.25x) | one edited {edited[0]:5.2f} s = "
        f"{edited[0] / alone[0]:.2f}x a cold check of it alone ({alone[0]:.2f} s; CPU {edited[1] / alone[1]:.2f}x; "
        f"goal <= 1.3x) | cache {cache_mib:.1f} MiB",
        flush=True,
    )
    return edited[0] - alone[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[9, 200])
    parser.add_argument("--baseline", type=Path, help="a checkout to compare the cold single-stack check with")
    parser.add_argument("--stack", default="aws-dev")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    if args.baseline:
        cold_start(args.stack, args.baseline.resolve(), args.repeat)
    for n in args.sizes:
        over = fleet(n)
        print(
            f"{n:4d} stacks, one edited: {over:+.2f} s over a cold check of that stack alone"
            f"{' (goal: within 2 s)' if n >= 200 else ''}",
            flush=True,
        )
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
