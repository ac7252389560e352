"""Pure builders and role ids (no Pulumi)."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.azure import roles
from infra.azure.definitions import (
    budget_notifications,
    budget_start,
    iso_minutes,
    network_access,
    node_taints,
    recurrence,
    service_cidr,
    subnet_plan,
)
from infra.spec.model import StorageSpec, Taint


@pytest.mark.parametrize("minutes,expected", [(10, "PT10M"), (60, "PT1H"), (90, "PT1H30M")])
def test_iso_minutes(minutes, expected):
    assert iso_minutes(minutes) == expected


def test_iso_minutes_rejects_zero():
    with pytest.raises(ValueError):
        iso_minutes(0)


def test_network_access():
    assert network_access("private", ["1.2.3.0/24"]).public_network_access == "Disabled"
    assert network_access("public", ["1.2.3.0/24"]).default_action == "Deny"
    assert network_access("public", []).default_action == "Allow"


def test_subnet_plan_stays_inside_the_vnet_without_overlap():
    import ipaddress

    plan = subnet_plan("10.40.0.0/16")
    nets = [ipaddress.ip_network(n) for n in (plan.aks, plan.endpoints, plan.functions)]
    assert all(n.subnet_of(ipaddress.ip_network("10.40.0.0/16")) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_service_cidr_avoids_the_vnet():
    assert service_cidr("10.40.0.0/16") == ("172.16.0.0/16", "172.16.0.10")
    assert service_cidr("172.16.0.0/16")[0] == "192.168.0.0/16"


def test_node_taints():
    assert node_taints([Taint(key="nvidia.com/gpu", value="present"), Taint(key="dedicated", effect="NoExecute")]) == [
        "nvidia.com/gpu=present:NoSchedule",
        "dedicated:NoExecute",
    ]


def test_recurrence():
    assert recurrence("weekly").week_days == ("Monday",)
    with pytest.raises(ValueError):
        recurrence("monthly")


def test_budget_start_is_first_of_month():
    assert budget_start(dt.date(2025, 7, 19)) == "2025-07-01T00:00:00Z"


def test_budget_notifications_respect_the_azure_limit():
    notes = budget_notifications([50, 80, 100], ["a@example.com"])
    assert len(notes) == 4 and notes["forecast-100"]["threshold_type"] == "Forecasted"
    assert len(budget_notifications([10, 20, 30, 40, 50], ["a@example.com"])) == 5
    with pytest.raises(ValueError, match="at most 5"):
        budget_notifications([1, 2, 3, 4, 5, 6], ["a@example.com"])


def test_lifecycle_without_archive_or_expiry():
    from infra.azure.definitions import lifecycle_rules

    base = lifecycle_rules(StorageSpec(archive_after_days=None))[0]["definition"]["actions"]["base_blob"]
    assert set(base) == {"tier_to_cool"}


def test_forbidden_roles_cannot_be_granted():
    with pytest.raises(ValueError, match="Owner"):
        roles.definition_id("sub", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635")
    with pytest.raises(ValueError, match="unknown role"):
        roles.definition_id("sub", "00000000-0000-0000-0000-000000000001")
    assert roles.definition_id("s", roles.ACR_PULL).endswith("/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d")
