"""The result of `mlops diff`: per stack, the resource changes and the cost delta."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CREATE, UPDATE, REPLACE, DELETE = "create", "update", "replace", "delete"
ACTION_ORDER = {DELETE: 0, REPLACE: 1, UPDATE: 2, CREATE: 3}


@dataclass
class PropertyChange:
    """One changed input: `path` like `notifications[1].threshold`; None stands for unset."""

    path: str
    old: Any
    new: Any
    forces_replacement: bool = False


@dataclass
class ResourceChange:
    action: str  # create | update | replace | delete
    urn: str
    type: str
    name: str
    stateful: bool = False  # holds data (infra/data/replace_on_change.yaml `stateful`)
    protected: bool = False  # `protect` in the base plan: pulumi refuses to delete/replace it
    changes: list[PropertyChange] = field(default_factory=list)
    reason: str = ""  # why it is replaced or deleted, when not plain

    @property
    def at_risk(self) -> bool:
        """Replacing or deleting it loses data (or pulumi will refuse because it is protected)."""
        return self.action in (REPLACE, DELETE) and (self.stateful or self.protected)

    @property
    def replace_paths(self) -> list[str]:
        return [c.path for c in self.changes if c.forces_replacement]


@dataclass
class StackDiff:
    stack: str
    path: str  # the stack file, relative to the project
    status: str  # added | removed | modified | code (only code changed) | selected
    cloud: str | None = None
    environment: str | None = None
    resources: list[ResourceChange] = field(default_factory=list)
    cost_before: float | None = None  # USD/month; None when the stack does not exist on that side
    cost_after: float | None = None
    mandatory_before: int | None = None
    mandatory_after: int | None = None
    error: str | None = None

    def count(self, action: str) -> int:
        return sum(1 for r in self.resources if r.action == action)

    @property
    def at_risk(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.at_risk]

    @property
    def cost_delta(self) -> float | None:
        if self.cost_before is None and self.cost_after is None:
            return None
        return round((self.cost_after or 0.0) - (self.cost_before or 0.0), 2)

    @property
    def unchanged(self) -> bool:
        return not self.error and not self.resources


@dataclass
class DiffReport:
    base_ref: str
    base_commit: str
    stacks: list[StackDiff]
    code_changed: list[str] = field(default_factory=list)  # infra/, policies/ ... files changed since base
    note: str = ""  # how the stacks were selected

    def document(self) -> dict[str, Any]:
        stacks = []
        for s in self.stacks:
            doc = asdict(s)
            doc["cost_delta"] = s.cost_delta
            doc["counts"] = {a: s.count(a) for a in ACTION_ORDER}
            for r, rdoc in zip(s.resources, doc["resources"], strict=True):
                rdoc["at_risk"] = r.at_risk
            stacks.append(doc)
        return {
            "base_ref": self.base_ref,
            "base_commit": self.base_commit,
            "code_changed": self.code_changed,
            "note": self.note,
            "stacks": stacks,
        }
