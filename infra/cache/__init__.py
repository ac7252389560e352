"""The plan cache: a stack's plan and its policy/cost report, reused while nothing they depend on
changed (README, "The plan cache").

The key of an entry is a hash of everything that can change a plan or a report: the stack file's
name and bytes, the project's own code and data files, the installed distributions and the
interpreter (`fingerprint.py`), the UTC date, and the options of the command (preview,
policy-pack config). Stack files are always read and validated (guardrails and waiver expiry depend on the day); only
planning and checking are skipped on a hit, and a hit imports no provider SDK.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.cache.fingerprint import code_digest, environment_digest
from infra.cache.store import FORMAT, Store

if TYPE_CHECKING:
    from infra.checker import StackReport
    from infra.engine.plan import Plan
    from infra.stackfile import StackFile

DIR_ENV = "MLOPS_CACHE_DIR"


def today() -> str:
    """The UTC date, part of every key: plans and reports may depend on it (an Azure budget starts
    in the current month, waivers expire), so entries are reused on the day they were made."""
    return dt.datetime.now(dt.timezone.utc).date().isoformat()


def cache_dir(root: Path | None = None) -> Path:
    """`$MLOPS_CACHE_DIR`, else `.mlops/cache/` at the project root (the directory of Pulumi.yaml)."""
    if os.environ.get(DIR_ENV):
        return Path(os.environ[DIR_ENV])
    from infra.stackfile import project_root

    return project_root(root) / ".mlops" / "cache"


class PlanCache:
    def __init__(self, directory: Path, limit_bytes: int | None = None):
        self.store = Store(directory, limit_bytes)

    @classmethod
    def for_project(cls, enabled: bool = True, root: Path | None = None) -> PlanCache | None:
        """The project's cache, or None when disabled (`--no-cache`)."""
        return cls(cache_dir(root)) if enabled else None

    def key(self, stack: StackFile, preview: bool = False, config: Mapping[str, Any] | None = None) -> str:
        """The entry key of `stack` planned with these options (module docstring: what it covers)."""
        digest = hashlib.blake2b(digest_size=24)
        options = json.dumps({"preview": preview, "config": config}, sort_keys=True, default=str)
        for part in (str(FORMAT), code_digest(), environment_digest(), today(), stack.name, options):
            digest.update(part.encode() + b"\0")
        digest.update(stack.path.read_bytes())
        return digest.hexdigest()

    def report(self, key: str) -> StackReport | None:
        from infra.checker import StackReport, remember_policy_info

        entry = self.store.read(key, "report")
        if not isinstance(entry, dict):
            return None
        try:
            report = StackReport(**entry["report"])
            remember_policy_info(entry["policies"])
        except (TypeError, KeyError, AttributeError, ValueError):
            return None
        return report

    def plan(self, key: str) -> Plan | None:
        from infra.engine.plan import Plan, PlannedResource

        entry = self.store.read(key, "plan")
        if not isinstance(entry, dict):
            return None
        try:
            resources = [PlannedResource(**r) for r in entry.pop("resources")]
            return Plan(resources=resources, **entry)
        except (TypeError, KeyError, AttributeError):
            return None

    def save(self, key: str, plan: Plan | None = None, report: StackReport | None = None) -> None:
        """Store what was computed; a report of a stack that could not be planned is not kept."""
        if plan is not None:
            self.store.write(key, "plan", {**vars(plan), "resources": [vars(r) for r in plan.resources]})
        if report is not None and report.error is None:
            # with the metadata of the policies it names, so rendering it needs no policy pack
            self.store.write(key, "report", {"report": vars(report), "policies": report.document()["policies"]})


__all__ = ["DIR_ENV", "PlanCache", "cache_dir"]
