"""The cost model: figures follow from catalog prices; idle cost; reference stacks."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from infra import catalog
from infra.cost import (
    REGISTRY_GB,
    STORAGE_GB,
    TRAINING_NODE_HOURS,
    estimate,
    estimate_resources,
    sagemaker_pipeline_jobs,
)

H = catalog.HOURS_PER_MONTH


def res(type_: str, inputs: dict, name: str = "r"):
    return SimpleNamespace(type=type_, urn=f"urn:pulumi:s::mlops::{type_}::{name}", inputs=inputs)


def price(cloud: str, sku: str) -> float:
    return catalog.known_sku(cloud, sku).usd_per_hour


def test_provisioned_endpoint_is_instances_times_hours_times_price():
    config = res(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        {"productionVariants": [{"variantName": "primary", "instanceType": "ml.m5.xlarge", "initialInstanceCount": 2}]},
    )
    result = estimate_resources("aws", "prod", [config])
    expected = 2 * H * price("aws", "ml.m5.xlarge")
    assert result["monthly_usd"] == pytest.approx(expected, abs=0.01)
    assert result["idle_monthly_usd"] == pytest.approx(expected, abs=0.01)
    assert result["items"] == [
        {
            "urn": config.urn,
            "monthly_usd": round(expected, 2),
            "basis": f"endpoint variant 'primary': 2 x ml.m5.xlarge x {H} h x {price('aws', 'ml.m5.xlarge'):g} USD/h",
        }
    ]


def test_serverless_endpoint_costs_nothing_idle():
    config = res(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        {
            "productionVariants": [
                {"variantName": "v", "serverlessConfig": {"maxConcurrency": 5, "memorySizeInMb": 2048}}
            ]
        },
    )
    result = estimate_resources("aws", "dev", [config])
    assert result["monthly_usd"] == result["idle_monthly_usd"] == 0
    assert "per invocation" in result["items"][0]["basis"]
    assert any("serverless" in e for e in result["excluded"])


def test_pipeline_steps_resolve_parameters_and_split_training_hours():
    definition = json.dumps(
        {
            "Parameters": [{"Name": "Type", "Type": "String", "DefaultValue": "ml.m5.large"}],
            "Steps": [
                {
                    "Name": "Prep",
                    "Type": "Processing",
                    "Arguments": {
                        "ProcessingResources": {
                            "ClusterConfig": {"InstanceType": {"Get": "Parameters.Type"}, "InstanceCount": 1}
                        }
                    },
                },
                {
                    "Name": "Gate",
                    "Type": "Condition",
                    "Arguments": {
                        "IfSteps": [
                            {
                                "Name": "Train",
                                "Type": "Training",
                                "Arguments": {
                                    "ResourceConfig": {"InstanceType": {"Get": "Parameters.Type"}, "InstanceCount": 2},
                                    "EnableManagedSpotTraining": True,
                                },
                            }
                        ],
                        "ElseSteps": [],
                    },
                },
            ],
        }
    )
    jobs = sagemaker_pipeline_jobs(definition)
    assert [(j.name, j.instance_type, j.instance_count, j.spot) for j in jobs] == [
        ("Prep", "ml.m5.large", 1, False),
        ("Train", "ml.m5.large", 2, True),
    ]
    result = estimate_resources(
        "aws", "dev", [res("aws:sagemaker/pipeline:Pipeline", {"pipelineDefinition": definition})]
    )
    hours = TRAINING_NODE_HOURS["dev"] / 2
    expected = hours * price("aws", "ml.m5.large") * (1 + 2 * catalog.spot_fraction("aws"))
    assert result["monthly_usd"] == pytest.approx(expected, abs=0.02)
    assert result["idle_monthly_usd"] == 0


def test_aks_cluster_fee_and_pools_at_minimum_with_spot():
    cluster = res(
        "azure-native:containerservice:ManagedCluster",
        {
            "sku": {"name": "Base", "tier": "Standard"},
            "agentPoolProfiles": [
                {
                    "name": "system",
                    "mode": "System",
                    "vmSize": "Standard_D2s_v5",
                    "enableAutoScaling": True,
                    "minCount": 1,
                    "maxCount": 3,
                }
            ],
        },
    )
    pool = res(
        "azure-native:containerservice:AgentPool",
        {
            "agentPoolName": "user",
            "vmSize": "Standard_D4s_v5",
            "enableAutoScaling": True,
            "minCount": 2,
            "maxCount": 5,
            "scaleSetPriority": "Spot",
        },
        "pool",
    )
    result = estimate_resources("azure", "prod", [cluster, pool])
    expected = (
        catalog.fee("azure", "aks_standard_tier_hour") * H
        + H * price("azure", "Standard_D2s_v5")
        + 2 * H * price("azure", "Standard_D4s_v5") * catalog.spot_fraction("azure")
    )
    assert result["monthly_usd"] == pytest.approx(expected, abs=0.02)


def test_scale_from_zero_pools_add_assumed_node_hours_but_no_idle_cost():
    pool = res(
        "gcp:container/nodePool:NodePool",
        {
            "name": "user",
            "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 3},
            "nodeConfig": {"machineType": "n2-standard-2", "spot": True},
        },
    )
    result = estimate_resources("gcp", "dev", [pool])
    expected = TRAINING_NODE_HOURS["dev"] * price("gcp", "n2-standard-2") * catalog.spot_fraction("gcp")
    assert result["monthly_usd"] == pytest.approx(expected, abs=0.01)
    assert result["idle_monthly_usd"] == 0


def test_gke_per_zone_minimum_counts_every_zone_of_a_regional_pool():
    pool = res(
        "gcp:container/nodePool:NodePool",
        {
            "name": "system",
            "location": "us-central1",
            "autoscaling": {"minNodeCount": 1, "maxNodeCount": 2},
            "nodeConfig": {"machineType": "n2-standard-4"},
        },
    )
    zonal = res("gcp:container/nodePool:NodePool", {**pool.inputs, "location": "us-central1-a"}, "zonal")
    assert estimate_resources("gcp", "prod", [pool])["monthly_usd"] == pytest.approx(
        3 * H * price("gcp", "n2-standard-4"), abs=0.01
    )
    assert estimate_resources("gcp", "prod", [zonal])["monthly_usd"] == pytest.approx(
        H * price("gcp", "n2-standard-4"), abs=0.01
    )


def test_aml_training_cluster_scales_to_zero():
    compute = res(
        "azure-native:machinelearningservices:Compute",
        {
            "properties": {
                "computeType": "AmlCompute",
                "properties": {
                    "vmSize": "Standard_D4s_v5",
                    "vmPriority": "LowPriority",
                    "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 4},
                },
            }
        },
    )
    result = estimate_resources("azure", "staging", [compute])
    assert result["monthly_usd"] == pytest.approx(
        TRAINING_NODE_HOURS["staging"] * price("azure", "Standard_D4s_v5") * catalog.spot_fraction("azure"), abs=0.01
    )
    assert result["idle_monthly_usd"] == 0


@pytest.mark.parametrize("tier", ["Basic", "Standard", "Premium"])
def test_registry_tier_fee(tier):
    result = estimate_resources(
        "azure", "dev", [res("azure-native:containerregistry:Registry", {"sku": {"name": tier}})]
    )
    assert result["monthly_usd"] == pytest.approx(catalog.fee("azure", f"acr_{tier.lower()}_day") * H / 24, abs=0.01)


@pytest.mark.parametrize(
    "cloud, type_, fee, size",
    [
        ("aws", "aws:s3/bucket:Bucket", "s3_standard_gb_month", STORAGE_GB),
        ("gcp", "gcp:storage/bucket:Bucket", "gcs_standard_gb_month", STORAGE_GB),
        ("azure", "azure-native:storage:StorageAccount", "blob_hot_gb_month", STORAGE_GB),
        ("aws", "aws:ecr/repository:Repository", "ecr_gb_month", REGISTRY_GB),
        ("gcp", "gcp:artifactregistry/repository:Repository", "artifact_registry_gb_month", REGISTRY_GB),
    ],
)
def test_storage_uses_the_stated_size_assumption(cloud, type_, fee, size):
    result = estimate_resources(cloud, "staging", [res(type_, {})])
    assert result["monthly_usd"] == pytest.approx(size["staging"] * catalog.fee(cloud, fee), abs=0.01)
    assert result["idle_monthly_usd"] == result["monthly_usd"]  # data at rest is paid idle
    assert any(f"{size['staging']} GB" in a for a in result["assumptions"])


def test_unknown_sku_is_reported_not_guessed():
    config = res(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        {"productionVariants": [{"variantName": "v", "instanceType": "ml.x1.huge", "initialInstanceCount": 1}]},
    )
    result = estimate_resources("aws", "prod", [config])
    assert result["monthly_usd"] == 0
    assert result["excluded"][-1] == "compute whose SKU is not in the catalog: endpoint variant 'v'"


STACKS = [f"{c}-{e}" for c in ("aws", "azure", "gcp") for e in ("dev", "staging", "prod")]
SDK = {"aws": "pulumi_aws", "azure": "pulumi_azure_native", "gcp": "pulumi_gcp"}


@pytest.mark.parametrize("stack", STACKS)
def test_reference_stack_estimate_is_itemised_and_within_budget(plan_for, stack):
    pytest.importorskip(SDK[stack.split("-")[0]])
    from infra import stackfile

    plan = plan_for(stack)
    result = estimate(plan, stackfile.load(stack).spec)
    urns = {r.urn for r in plan.resources}
    assert result["items"] and all(i["urn"] in urns and i["basis"] for i in result["items"])
    assert result["monthly_usd"] == pytest.approx(sum(i["monthly_usd"] for i in result["items"]), abs=0.05)
    assert 0 < result["idle_monthly_usd"] <= result["monthly_usd"]
    assert result["monthly_usd"] <= stackfile.load(stack).spec.budget.monthly_usd
    assert result["assumptions"] and result["excluded"]


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_dev_idles_cheaper_than_prod(plan_for, cloud):
    pytest.importorskip(SDK[cloud])
    idle = {env: estimate(plan_for(f"{cloud}-{env}"))["idle_monthly_usd"] for env in ("dev", "staging", "prod")}
    assert idle["dev"] < idle["staging"] <= idle["prod"], idle


def test_aws_dev_idle_compute_is_one_small_endpoint(plan_for):
    """Scale-to-zero training; the only always-on compute is the one ml.t3.medium endpoint instance
    (a serverless endpoint would cost nothing idle but captures no data, so dev's drift loop could
    never run)."""
    pytest.importorskip("pulumi_aws")
    result = estimate(plan_for("aws-dev"))
    compute = [i for i in result["items"] if " h x " in i["basis"] and i["monthly_usd"]]
    assert [(i["basis"], i["monthly_usd"]) for i in compute] == [
        ("endpoint variant 'AllTraffic': 1 x ml.t3.medium x 730 h x 0.05 USD/h", 36.5)
    ]
