"""Free functions of the GCP components, tested without Pulumi."""

from __future__ import annotations

import ipaddress
import json

import pytest

pytest.importorskip("pulumi_gcp")

from infra.gcp.datalake import lifecycle_rules  # noqa: E402
from infra.gcp.encryption import service_agent  # noqa: E402
from infra.gcp.identity import FORBIDDEN_ROLES, PROJECT_GRANTS, all_grants  # noqa: E402
from infra.gcp.kubernetes import accelerator_type, workload_member  # noqa: E402
from infra.gcp.monitoring import dashboard_json  # noqa: E402
from infra.gcp.network import subnet_plan  # noqa: E402
from infra.gcp.registry import registry_url  # noqa: E402
from infra.gcp.retraining import CRON, function_source  # noqa: E402
from infra.gcp.vertex import endpoint_access, endpoint_id  # noqa: E402
from infra.spec.model import StorageSpec  # noqa: E402


@pytest.mark.parametrize("cidr", ["10.40.0.0/16", "10.8.0.0/20", "172.16.0.0/18"])
def test_subnet_plan_ranges_fit_and_do_not_overlap(cidr):
    plan = subnet_plan(cidr)
    nets = [ipaddress.ip_network(n) for n in (plan.nodes, plan.pods, plan.services, plan.master)]
    assert all(n.subnet_of(ipaddress.ip_network(cidr)) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
    assert nets[3].prefixlen == 28


def test_lifecycle_rules_follow_the_storage_spec():
    rules = lifecycle_rules(
        StorageSpec(
            infrequent_access_after_days=10,
            archive_after_days=90,
            expire_after_days=400,
            noncurrent_version_expire_days=7,
        )
    )
    assert [(r["action"]["type"], r["condition"]) for r in rules] == [
        ("SetStorageClass", {"age": 10, "matches_storage_classes": ["STANDARD"]}),
        ("SetStorageClass", {"age": 90, "matches_storage_classes": ["STANDARD", "NEARLINE"]}),
        ("Delete", {"age": 400}),
        ("Delete", {"days_since_noncurrent_time": 7, "with_state": "ARCHIVED"}),
    ]


def test_lifecycle_rules_without_archive_or_versioning():
    rules = lifecycle_rules(StorageSpec(archive_after_days=None, versioning=False))
    assert [r["action"].get("storage_class") for r in rules] == ["NEARLINE"]


def test_no_grant_uses_a_primitive_role():
    assert {g.role for g in all_grants()}.isdisjoint(FORBIDDEN_ROLES)


def test_every_project_level_role_says_why():
    for account, roles in PROJECT_GRANTS.items():
        for role, why in roles:
            assert len(why) > 20, (account, role)


def test_storage_and_registry_roles_are_never_project_level():
    for g in all_grants():
        if g.scope == "project":
            assert not g.role.startswith(("roles/storage.", "roles/artifactregistry.")), g


def test_service_agent_emails():
    assert service_agent("42", "storage") == "service-42@gs-project-accounts.iam.gserviceaccount.com"
    assert service_agent("42", "aiplatform") == "service-42@gcp-sa-aiplatform.iam.gserviceaccount.com"


@pytest.mark.parametrize("machine,gpu", [("g2-standard-4", "nvidia-l4"), ("a2-highgpu-1g", "nvidia-tesla-a100")])
def test_accelerator_matches_machine_family(machine, gpu):
    assert accelerator_type(machine) == gpu


def test_unknown_gpu_machine_fails_with_a_hint():
    with pytest.raises(ValueError, match="n1-standard-4"):
        accelerator_type("n1-standard-4")


def test_workload_member_format():
    assert workload_member("p", "ns", "ksa") == "serviceAccount:p.svc.id.goog[ns/ksa]"


def test_endpoint_id_is_numeric_stable_and_at_most_ten_digits():
    a = endpoint_id("team", "prod", "serving")
    assert a == endpoint_id("team", "prod", "serving") != endpoint_id("team", "dev", "serving")
    assert a.isdigit() and len(a) == 10 and a[0] != "0"


def test_endpoint_access_by_network_mode():
    assert endpoint_access("public", "p") == {"dedicated_endpoint_enabled": True}
    assert endpoint_access("private", "p")["private_service_connect_config"]["project_allowlists"] == ["p"]


def test_registry_url():
    assert registry_url("europe-west4", "p", "repo") == "europe-west4-docker.pkg.dev/p/repo"


def test_dashboard_json_is_a_mosaic_with_one_tile_per_widget():
    doc = json.loads(dashboard_json("t", [("a", "f1", "ALIGN_MEAN"), ("b", "f2", "ALIGN_RATE")]))
    assert [t["widget"]["title"] for t in doc["mosaicLayout"]["tiles"]] == ["a", "b"]


def test_function_source_bundles_the_handler_with_the_shared_drift_engine():
    bundle = function_source()
    assert {"main.py", "requirements.txt", "mlops_workload/drift.py", "mlops_workload/capture.py"} <= set(bundle.files)
    assert not any(name.endswith("runtime/drift.py") or name == "drift.py" for name in bundle.files)
    assert function_source().sha256 == bundle.sha256


def test_cron_for_every_schedule():
    assert set(CRON) == {"hourly", "daily", "weekly"}
