"""The spec: per-environment defaults, cross-field rules, JSON Schema, and the tag rendering."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from infra import catalog
from infra.jsonschema import stack_file_schema
from infra.spec import Spec, baseline_monthly_usd
from infra.tagging import REQUIRED_TAGS, cloud_tags, stack_tags

ROOT = Path(__file__).resolve().parent.parent
BASE = {"team": "fraud", "region": "us-east-1", "owner": "a@example.com", "cost_center": "CC-1"}


def spec(cloud="aws", environment="dev", **extra) -> Spec:
    region = {"aws": "us-east-1", "azure": "westeurope", "gcp": "us-central1"}[cloud]
    gcp = {"gcp": {"project_id": "acme-fraud-1", "billing_account": "01A2B3-C4D5E6-F7A8B9"}} if cloud == "gcp" else {}
    azure = (
        {
            "azure": {
                "cosmos_db_object_id": "5e0c2f1a-7b3d-4c8e-9f6a-2d1b0c3e4f5a",
                "scoring_hostname": "fraud.ml.example.internal",
            }
        }
        if cloud == "azure"
        else {}
    )
    return Spec.model_validate(
        {**BASE, "region": region, "cloud": cloud, "environment": environment, **gcp, **azure, **extra}
    )


@pytest.mark.parametrize("cloud", catalog.CLOUDS)
def test_dev_defaults_are_small_spot_and_public(cloud):
    dev = spec(cloud, "dev")
    # GCP: a Vertex AI pipeline task has no Spot scheduling (refused there, so off by default).
    assert dev.training.spot is (cloud != "gcp") and dev.training.size_class == "cpu-small"
    assert dev.network.mode == "public" and not dev.multi_zone and not dev.allow_gpu


@pytest.mark.parametrize("cloud", catalog.CLOUDS)
def test_prod_defaults_are_on_demand_private_and_protected(cloud):
    prod = spec(cloud, "prod")
    assert not prod.training.spot and prod.network.mode == "private" and prod.multi_zone
    assert prod.storage.customer_managed_keys and prod.storage.versioning
    assert prod.serving.min_replicas >= 2


def test_serverless_serving_is_the_aws_dev_default_only():
    assert spec("aws", "dev").serving.serverless
    assert not spec("azure", "dev").serving.serverless
    assert not spec("aws", "prod").serving.serverless


def test_stack_file_values_win_over_environment_defaults():
    custom = spec("aws", "prod", training={"size_class": "cpu-small"})
    assert custom.training.size_class == "cpu-small"
    assert custom.training.max_nodes == 8  # the rest of the section keeps the prod defaults


def test_kubernetes_follows_the_cloud_design():
    assert not spec("aws").kubernetes.enabled
    assert spec("azure").kubernetes.enabled and spec("gcp").kubernetes.enabled


def test_prod_rejects_single_replica_serving():
    with pytest.raises(ValidationError, match="at least 2 replicas"):
        spec("aws", "prod", serving={"enabled": True, "model_name": "fraud", "min_replicas": 1})


def test_prod_rejects_public_network():
    with pytest.raises(ValidationError, match="private networking"):
        spec("gcp", "prod", network={"mode": "public"})


def test_gpu_allowed_when_the_spec_says_so():
    assert spec("aws", "dev", allow_gpu=True, training={"size_class": "gpu-small"}).training.size_class == "gpu-small"


def test_baseline_cost_follows_catalog_prices():
    s = spec(
        "azure", "prod", serving={"enabled": True, "model_name": "churn", "model_version": {"ref": "azureml:churn:3"}}
    )
    total, basis = baseline_monthly_usd(s)
    serving = catalog.sku_for_class("azure", s.serving.size_class).usd_per_hour * s.serving.min_replicas
    system = (
        catalog.sku_for_class("azure", s.kubernetes.system_pool.size_class).usd_per_hour
        * s.kubernetes.system_pool.min_nodes
    )
    user = (
        catalog.sku_for_class("azure", s.kubernetes.user_pool.size_class).usd_per_hour
        * s.kubernetes.user_pool.min_nodes
    )
    assert total == pytest.approx((serving + system + user) * catalog.HOURS_PER_MONTH)
    assert "serving" in basis and "system_pool" in basis


def test_serverless_dev_stack_has_no_always_on_compute():
    assert baseline_monthly_usd(spec("aws", "dev", serving={"enabled": True, "model_name": "fraud"}))[0] == 0


@given(st.sampled_from(catalog.CLOUDS), st.sampled_from(["dev", "staging", "prod"]))
def test_every_cloud_and_environment_has_a_valid_default_spec(cloud, environment):
    s = spec(cloud, environment)
    assert s.cloud == cloud and s.environment == environment


@given(st.sampled_from(catalog.CLOUDS), st.sampled_from(catalog.SIZE_CLASSES))
def test_every_size_class_maps_to_a_priced_sku(cloud, size_class):
    sku = catalog.sku_for_class(cloud, size_class)
    assert sku.usd_per_hour > 0 and (sku.gpus > 0) == size_class.startswith("gpu")


def test_catalog_is_dated_and_sourced():
    data = catalog.catalog()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["as_of"])
    assert all(data["sources"][cloud].startswith("https://") for cloud in catalog.CLOUDS)
    for cloud in catalog.CLOUDS:
        assert all(entry["source"].startswith("https://") for entry in data["fees"][cloud].values())


@pytest.mark.parametrize("cloud", catalog.CLOUDS)
def test_required_tags_render_valid_for_each_cloud(cloud):
    tags = cloud_tags(cloud, stack_tags(spec(cloud), "fraud-aws-dev"))
    assert set(REQUIRED_TAGS) <= set(tags)
    if cloud == "gcp":
        assert all(re.fullmatch(r"[a-z0-9_-]{0,63}", v) for v in tags.values())
        assert tags["owner"] == "a_example_com"
    else:
        assert tags["owner"] == "a@example.com"


def test_extra_tags_cannot_override_required_ones():
    tags = stack_tags(spec(tags={"team": "someone-else", "purpose": "demo"}), "s")
    assert tags["team"] == "fraud" and tags["purpose"] == "demo"


def test_committed_json_schema_is_current():
    committed = json.loads((ROOT / "schema" / "stack-file.schema.json").read_text())
    assert committed == stack_file_schema(), "run: mlops schema > schema/stack-file.schema.json"


def test_json_schema_rejects_unknown_keys_like_the_model():
    definitions = stack_file_schema()["$defs"]
    assert definitions["Spec"]["additionalProperties"] is False
    assert definitions["ServingSpec"]["additionalProperties"] is False


def test_gcp_dev_system_nodes_are_spot_but_never_on_azure():
    assert spec("gcp", "dev").kubernetes.system_pool.spot
    assert not spec("gcp", "prod").kubernetes.system_pool.spot
    assert not spec("azure", "dev").kubernetes.system_pool.spot
    with pytest.raises(ValidationError, match="AKS system node pools cannot use spot"):
        spec("azure", "dev", kubernetes={"system_pool": {"spot": True}})
