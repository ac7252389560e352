"""Plan documents of stacks, in this process or in a subprocess that runs another tree's code.

The base of a diff is planned by its own code (a subprocess with the base worktree first on
sys.path, using this interpreter, which has the cloud SDKs), since `infra/` may differ between the
base and the working tree. Each result is `{"document": plan document | None, "error": str | None}`.
"""

from __future__ import annotations

import json
import os
import subprocess as sp
import sys
import tempfile
from pathlib import Path
from typing import Any

# Runs inside the other tree; keep it compatible with older versions of this package's code.
PLAN_SCRIPT = r"""
import json, sys
from pathlib import Path
root, out, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, root)
import infra
if not Path(infra.__file__).resolve().is_relative_to(Path(root).resolve()):
    raise SystemExit(f"imported infra from {infra.__file__}, not from {root}")
from infra import stackfile
from infra.engine import plan_stack
result = {}
for path in paths:
    try:
        stack = stackfile.load(path)
        plan = plan_stack(stack)
        try:
            from infra.checker import report_for
        except ImportError:
            report_for = None
        if report_for is not None:
            report = report_for(plan, stack.spec)
            document = plan.document(report.cost, report.violations)
        else:
            document = plan.document()
        result[path] = {"document": document, "error": None}
    except Exception as exc:
        lines = getattr(exc, "lines", None)
        result[path] = {"document": None, "error": "; ".join(lines) if lines else f"{type(exc).__name__}: {exc}"}
Path(out).write_text(json.dumps(result))
"""

TIMEOUT_S = 900


def plan_documents(root: Path, paths: list[str], subprocess: bool) -> dict[str, dict[str, Any]]:
    """{path: {"document", "error"}} for each stack file in `paths`, planned with the code of the
    project at `root` (in a subprocess) or with this process's code."""
    if not subprocess:
        return {path: plan_in_process(path) for path in paths}
    return plan_in_subprocess(root, paths)


def plan_in_process(path: str) -> dict[str, Any]:
    from infra import stackfile
    from infra.checker import report_for
    from infra.engine import PlanError, plan_stack
    from infra.program import CloudUnavailable
    from infra.stackfile import StackError

    try:
        stack = stackfile.load(path)
        plan = plan_stack(stack)
    except StackError as exc:
        return {"document": None, "error": "; ".join(exc.lines)}
    except (PlanError, CloudUnavailable) as exc:
        return {"document": None, "error": str(exc)}
    report = report_for(plan, stack.spec)
    # Through JSON, like the subprocess side, so both documents compare alike (tuples, numbers).
    return {"document": json.loads(json.dumps(plan.document(report.cost, report.violations))), "error": None}


def plan_in_subprocess(root: Path, paths: list[str]) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="mlops-plan-") as tmp:
        out = Path(tmp) / "plans.json"
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("PYTHONPATH", None)
        try:
            done = sp.run(
                [sys.executable, "-c", PLAN_SCRIPT, str(root), str(out), *paths],
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
            )
        except sp.TimeoutExpired:
            return {p: {"document": None, "error": f"planning timed out after {TIMEOUT_S} s"} for p in paths}
        if done.returncode != 0 or not out.is_file():
            tail = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            return {p: {"document": None, "error": f"planning with the code in {root} failed: {tail}"} for p in paths}
        return json.loads(out.read_text())
