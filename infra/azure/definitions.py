"""Pure builders for the Azure components: no Pulumi, no SDK at run time (its TypedDicts only type
the results), so each is unit-testable.

Values come back in the shapes the azure-native SDK accepts (snake_case dicts for plain nested
inputs); discriminated unions are built with the SDK's Args classes in the components themselves.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulumi_azure_native import consumption
    from pulumi_azure_native import storage as azure_storage

PRIVATE, PUBLIC = "private", "public"


def iso_minutes(minutes: int) -> str:
    """An ISO 8601 duration for a number of minutes: 15 -> PT15M, 90 -> PT1H30M."""
    if minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    hours, rest = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{rest}M" if rest else "")


@dataclass(frozen=True)
class NetworkAccess:
    """How a data-plane endpoint (vault, storage, registry) is reachable."""

    public_network_access: str  # "Enabled" | "Disabled"
    default_action: str  # "Allow" | "Deny"
    ip_ranges: tuple[str, ...]


def network_access(mode: str, allowed_cidrs: list[str]) -> NetworkAccess:
    """Private: no public endpoint at all. Public: open only to allowed_cidrs if any are listed
    (Entra ID authorization still applies to every request)."""
    if mode == PRIVATE:
        return NetworkAccess("Disabled", "Deny", ())
    if allowed_cidrs:
        return NetworkAccess("Enabled", "Deny", tuple(allowed_cidrs))
    return NetworkAccess("Enabled", "Allow", ())


@dataclass(frozen=True)
class SubnetPlan:
    aks: str
    endpoints: str
    functions: str
    training: str


def subnet_plan(cidr: str) -> SubnetPlan:
    """Split the stack's VNet range: half for AKS nodes/pods (Azure CNI), an eighth each for
    private endpoints and the retraining function's VNet integration, and a quarter for the
    training cluster (the workspace has no managed network next to Kubernetes compute, so its
    cluster joins this VNet)."""
    net = ipaddress.ip_network(cidr)
    aks, rest = net.subnets(prefixlen_diff=1)
    endpoints, functions, *_ = list(rest.subnets(prefixlen_diff=2))
    training = list(rest.subnets(prefixlen_diff=1))[1]
    return SubnetPlan(str(aks), str(endpoints), str(functions), str(training))


def service_cidr(cidr: str) -> tuple[str, str]:
    """A Kubernetes service range (and DNS IP) that does not overlap the VNet range."""
    net = ipaddress.ip_network(cidr)
    for candidate in ("172.16.0.0/16", "192.168.0.0/16", "10.255.0.0/16"):
        service = ipaddress.ip_network(candidate)
        if not service.overlaps(net):
            return candidate, str(service.network_address + 10)
    raise ValueError(f"no free service CIDR for VNet {cidr}")


def node_taints(taints) -> list[str]:
    """Spec taints as AKS expects them: key=value:Effect."""
    return [f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}" for t in taints]


@dataclass(frozen=True)
class Recurrence:
    frequency: str  # Hour | Day | Week
    interval: int
    hours: tuple[int, ...]
    minutes: tuple[int, ...]
    week_days: tuple[str, ...]


def recurrence(schedule: str) -> Recurrence:
    """The drift monitor's recurrence for spec.monitoring.schedule (off-peak for daily/weekly)."""
    if schedule == "hourly":
        return Recurrence("Hour", 1, (), (5,), ())
    if schedule == "daily":
        return Recurrence("Day", 1, (3,), (0,), ())
    if schedule == "weekly":
        return Recurrence("Week", 1, (3,), (0,), ("Monday",))
    raise ValueError(f"unknown monitoring schedule {schedule!r}; expected hourly, daily or weekly")


def drift_window(schedule: str) -> str:
    """How much production data each monitoring run compares against the reference."""
    return {"hourly": "PT1H", "daily": "P1D", "weekly": "P7D"}[schedule]


def lifecycle_rules(storage) -> list[azure_storage.ManagementPolicyRuleArgsDict]:
    """Lifecycle management rules for the data lake from spec.storage: tier current blobs to
    cool and then cold, optionally expire them, and delete old non-current versions.

    `archive_after_days` maps to the *cold* tier, never Archive: archived blobs are offline until
    rehydrated (hours), so a model download, the monitor's reference data or a retraining window
    would fail, and Archive is not offered on ZRS accounts (prod) at all
    (learn.microsoft.com/azure/storage/blobs/access-tiers-overview, "Archive access tier")."""
    base: azure_storage.ManagementPolicyBaseBlobArgsDict = {
        "tier_to_cool": {"days_after_modification_greater_than": storage.infrequent_access_after_days}
    }
    if storage.archive_after_days is not None:
        base["tier_to_cold"] = {"days_after_modification_greater_than": storage.archive_after_days}
    if storage.expire_after_days is not None:
        base["delete"] = {"days_after_modification_greater_than": storage.expire_after_days}
    filters: azure_storage.ManagementPolicyFilterArgsDict = {
        "blob_types": ["blockBlob"],
        "prefix_match": ["data/", "artifacts/", "monitoring/"],
    }
    rules: list[azure_storage.ManagementPolicyRuleArgsDict] = [
        {
            "name": "tier-and-expire",
            "enabled": True,
            "type": "Lifecycle",
            "definition": {"filters": filters, "actions": {"base_blob": base}},
        }
    ]
    if storage.versioning:
        rules.append(
            {
                "name": "noncurrent-versions",
                "enabled": True,
                "type": "Lifecycle",
                "definition": {
                    "filters": {"blob_types": ["blockBlob"]},
                    "actions": {
                        "version": {
                            "delete": {"days_after_creation_greater_than": storage.noncurrent_version_expire_days}
                        }
                    },
                },
            }
        )
    return rules


def budget_start(today: dt.date) -> str:
    """Azure requires a budget to start on the first day of the current month."""
    return f"{today.year:04d}-{today.month:02d}-01T00:00:00Z"


FAILURE_RATE_QUERY = """requests
| summarize total = count(), failed = countif(success == false)
| extend failure_percent = iif(total == 0, 0.0, 100.0 * todouble(failed) / todouble(total))
| project failure_percent"""


MAX_BUDGET_NOTIFICATIONS = 5


def budget_notifications(thresholds: list[int], emails: list[str]) -> dict[str, consumption.NotificationArgsDict]:
    """One actual-cost notification per threshold, plus a forecast one at 100 % while the budget
    has room (Azure allows at most five notifications per budget)."""
    if len(thresholds) > MAX_BUDGET_NOTIFICATIONS:
        raise ValueError(
            f"Azure budgets take at most {MAX_BUDGET_NOTIFICATIONS} notifications; "
            f"got {len(thresholds)} thresholds in budget.alert_thresholds_percent"
        )
    notes: dict[str, consumption.NotificationArgsDict] = {
        f"actual-{t}": {
            "enabled": True,
            "operator": "GreaterThanOrEqualTo",
            "threshold": float(t),
            "threshold_type": "Actual",
            "contact_emails": list(emails),
        }
        for t in thresholds
    }
    if len(notes) < MAX_BUDGET_NOTIFICATIONS:
        notes["forecast-100"] = {
            "enabled": True,
            "operator": "GreaterThan",
            "threshold": 100.0,
            "threshold_type": "Forecasted",
            "contact_emails": list(emails),
        }
    return notes


def short_name(text: str, limit: int = 12) -> str:
    """An action group short name: at most 12 characters."""
    return text.replace("-", "")[:limit]
