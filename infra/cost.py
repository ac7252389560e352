"""Monthly cost estimate of a planned stack, resource by resource, from the price catalog.

The model is deliberately simple and says how each figure was made (`basis`): always-on compute
is `count x hours x list price` (spot/low-priority at the catalog's spot fraction), scale-from-zero
training is an assumed number of node-hours per month, fixed fees come from the catalog, storage is
an assumed size per store. `idle_monthly_usd` is what the stack pays when nobody uses it (no
traffic, compute at its minimum, no training, data at rest still billed).

It works on any list of resources with `type`, `urn` and `props`/`inputs` (a Plan's resources or a
policy's stack resources), so the stack policy `<cloud>-stack-cost-require-within-budget` and
`mlops plan` share one model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra import catalog

HOURS = catalog.HOURS_PER_MONTH
DAYS = HOURS / 24
UNKNOWN = "<unknown>"

# Assumptions per environment, stated in every estimate.
STORAGE_GB = {"dev": 50, "staging": 200, "prod": 1000}          # per bucket / storage account
REGISTRY_GB = {"dev": 5, "staging": 20, "prod": 50}             # per image repository
TRAINING_NODE_HOURS = {"dev": 20, "staging": 40, "prod": 120}   # scale-from-zero training, per month
LOG_GB = {"dev": 2, "staging": 10, "prod": 50}                  # log ingestion per workspace

# Fees the shared catalog does not carry (USD, list prices, with sources).
EXTRA_FEES: dict[str, tuple[float, str]] = {
    "aws_nat_gateway_hour": (0.045, "https://aws.amazon.com/vpc/pricing/"),
    "aws_secret_month": (0.40, "https://aws.amazon.com/secrets-manager/pricing/"),
    "azure_nat_gateway_hour": (0.045, "https://azure.microsoft.com/pricing/details/azure-nat-gateway/"),
    "azure_private_endpoint_hour": (0.01, "https://azure.microsoft.com/pricing/details/private-link/"),
    "gcp_cloud_nat_gateway_hour": (0.0014, "https://cloud.google.com/nat/pricing"),
}

EXCLUDED = [
    "data transfer and egress",
    "request and API-call charges (S3/GCS/Blob operations, KMS requests, CloudWatch/Monitoring API calls)",
    "per-invocation serverless inference and Lambda/Cloud Functions charges",
    "autoscaled capacity above the configured minimum (bursts under load)",
    "log ingestion beyond the stated assumption, metric and trace volumes",
    "support plans, taxes, committed-use and savings-plan discounts, free tiers and credits",
]


@dataclass(frozen=True)
class Res:
    type: str
    urn: str
    props: Mapping[str, Any]


@dataclass
class Item:
    urn: str
    monthly_usd: float
    idle_usd: float
    basis: str


Estimator = Callable[[Res, str, "Lookup"], Iterable[Item]]


def _num(value: Any, default: float = 0.0) -> float:
    try:
        return float(value) if value is not None and value != UNKNOWN else default
    except (TypeError, ValueError):
        return default


def _sku(cloud: str, name: Any) -> catalog.Sku | None:
    return catalog.known_sku(cloud, str(name)) if name not in (None, UNKNOWN) else None


def _compute(urn: str, cloud: str, sku_name: Any, count: float, spot: bool, what: str,
             idle_count: float | None = None) -> Item:
    sku = _sku(cloud, sku_name)
    if sku is None:
        return Item(urn, 0.0, 0.0, f"{what}: SKU {sku_name!r} not in the catalog, not priced")
    rate = sku.usd_per_hour * (catalog.spot_fraction(cloud) if spot else 1.0)
    idle = count if idle_count is None else idle_count
    price = f"{sku.usd_per_hour:g} USD/h" + (f" x {catalog.spot_fraction(cloud):g} spot" if spot else "")
    return Item(urn, count * rate * HOURS, idle * rate * HOURS,
                f"{what}: {count:g} x {sku.name} x {HOURS} h x {price}")


def _fee(urn: str, cloud: str, name: str, quantity: float, unit: str, what: str, idle: bool = True) -> Item:
    price = catalog.fee(cloud, name)
    total = price * quantity
    return Item(urn, total, total if idle else 0.0, f"{what}: {quantity:g} {unit} x {price:g} USD ({name})")


def _extra(urn: str, name: str, quantity: float, unit: str, what: str) -> Item:
    price, _ = EXTRA_FEES[name]
    return Item(urn, price * quantity, price * quantity, f"{what}: {quantity:g} {unit} x {price:g} USD ({name})")


def _training(urn: str, cloud: str, sku_name: Any, env: str, spot: bool, what: str) -> Item:
    sku = _sku(cloud, sku_name)
    hours = TRAINING_NODE_HOURS[env]
    if sku is None:
        return Item(urn, 0.0, 0.0, f"{what}: SKU {sku_name!r} not in the catalog, not priced")
    rate = sku.usd_per_hour * (catalog.spot_fraction(cloud) if spot else 1.0)
    return Item(urn, hours * rate, 0.0,
                f"{what}: assumed {hours} node-hours/month x {sku.name} x {sku.usd_per_hour:g} USD/h"
                + (f" x {catalog.spot_fraction(cloud):g} spot" if spot else "") + "; idle: scaled to zero")


class Lookup:
    """Cross-resource facts an estimator may need (e.g. the Azure node pools of a cluster)."""

    def __init__(self, resources: list[Res]):
        self.resources = resources

    def of_type(self, type_: str) -> list[Res]:
        return [r for r in self.resources if r.type == type_]


# ---- AWS --------------------------------------------------------------------------------------

def _aws_endpoint_config(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    for v in r.props.get("productionVariants") or []:
        if not isinstance(v, dict):
            continue
        if v.get("serverlessConfig"):
            yield Item(r.urn, 0.0, 0.0, f"variant {v.get('variantName')!r}: serverless, billed per "
                       "invocation (excluded); nothing when idle")
        else:
            count = _num(v.get("initialInstanceCount"), 1)
            yield _compute(r.urn, "aws", v.get("instanceType"), count, False,
                           f"endpoint variant {v.get('variantName')!r}")


@dataclass(frozen=True)
class PipelineJob:
    """A job step of a SageMaker pipeline definition, with parameter references resolved."""

    name: str
    type: str                 # Training | Processing
    instance_type: Any
    instance_count: Any
    spot: bool


def sagemaker_pipeline_jobs(definition: Any) -> list[PipelineJob]:
    """Training/processing steps of a pipeline definition (JSON string or dict), depth first
    through condition branches; `{"Get": "Parameters.X"}` resolves to X's DefaultValue."""
    if definition is None or definition == UNKNOWN:
        return []
    try:
        doc = json.loads(definition) if isinstance(definition, str) else definition
    except json.JSONDecodeError:
        return []
    if not isinstance(doc, dict):
        return []
    defaults = {f"Parameters.{p.get('Name')}": p.get("DefaultValue")
                for p in doc.get("Parameters") or [] if isinstance(p, dict)}

    def value(v: Any) -> Any:
        return defaults.get(v["Get"], UNKNOWN) if isinstance(v, dict) and "Get" in v else v

    jobs: list[PipelineJob] = []

    def walk(steps: Any) -> None:
        for step in steps or []:
            if not isinstance(step, dict):
                continue
            args = step.get("Arguments") or {}
            if step.get("Type") == "Condition":
                walk(args.get("IfSteps"))
                walk(args.get("ElseSteps"))
            elif step.get("Type") in ("Training", "Processing"):
                config = args.get("ResourceConfig") or (args.get("ProcessingResources") or {}).get("ClusterConfig") or {}
                jobs.append(PipelineJob(str(step.get("Name")), step["Type"], value(config.get("InstanceType")),
                                        value(config.get("InstanceCount")),
                                        value(args.get("EnableManagedSpotTraining")) is True))
    walk(doc.get("Steps"))
    return jobs


def _aws_pipeline(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    jobs = sagemaker_pipeline_jobs(r.props.get("pipelineDefinition"))
    hours = TRAINING_NODE_HOURS[env] / max(1, len(jobs))
    for job in jobs:
        sku = _sku("aws", job.instance_type)
        what = f"pipeline {job.type.lower()} step {job.name!r}"
        if sku is None:
            yield Item(r.urn, 0.0, 0.0, f"{what}: SKU {job.instance_type!r} not in the catalog, not priced")
            continue
        count = _num(job.instance_count, 1)
        rate = sku.usd_per_hour * (catalog.spot_fraction("aws") if job.spot else 1.0)
        yield Item(r.urn, hours * count * rate, 0.0,
                   f"{what}: assumed {hours:g} h/month ({TRAINING_NODE_HOURS[env]} node-hours split over "
                   f"{len(jobs)} job steps) x {count:g} x {sku.name} x {sku.usd_per_hour:g} USD/h"
                   + (f" x {catalog.spot_fraction('aws'):g} spot" if job.spot else "") + "; idle: nothing runs")


def _aws_vpc_endpoint(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    if r.props.get("vpcEndpointType") == "Interface":
        azs = max(1, len(r.props.get("subnetIds") or []))
        yield _fee(r.urn, "aws", "vpc_interface_endpoint_hour", azs * HOURS, "ENI-hours",
                   f"interface endpoint in {azs} AZ(s)")


def _aws_bucket(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    yield _fee(r.urn, "aws", "s3_standard_gb_month", STORAGE_GB[env], "GB-month", "assumed S3 Standard data")


def _aws_ecr(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    yield _fee(r.urn, "aws", "ecr_gb_month", REGISTRY_GB[env], "GB-month", "assumed image storage")


# ---- Azure ------------------------------------------------------------------------------------

def _azure_pool(urn: str, pool: Mapping[str, Any], name: str) -> Item:
    spot = pool.get("scaleSetPriority") == "Spot"
    if pool.get("enableAutoScaling"):
        count = _num(pool.get("minCount"))
    else:
        count = _num(pool.get("count"), 1)
    return _compute(urn, "azure", pool.get("vmSize"), count, spot, f"AKS pool {name!r} at its minimum")


def _burst(urn: str, cloud: str, sku_name: Any, minimum: float, spot: bool, env: str, what: str) -> list[Item]:
    """Pools that scale from zero exist for training/batch work: price the assumed node-hours."""
    return [] if minimum else [_training(urn, cloud, sku_name, env, spot, what)]


def _azure_cluster(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    tier = (r.props.get("sku") or {}).get("tier", "Free")
    if tier in ("Standard", "Premium"):
        yield _fee(r.urn, "azure", "aks_standard_tier_hour", HOURS, "cluster-hours", f"AKS {tier} tier")
    else:
        yield Item(r.urn, 0.0, 0.0, "AKS Free tier control plane: no fee")
    for pool in r.props.get("agentPoolProfiles") or []:
        if isinstance(pool, dict):
            yield from _azure_pools(r.urn, pool, str(pool.get("name")), env)


def _azure_pools(urn: str, pool: Mapping[str, Any], name: str, env: str) -> Iterable[Item]:
    item = _azure_pool(urn, pool, name)
    yield item
    if pool.get("enableAutoScaling"):
        yield from _burst(urn, "azure", pool.get("vmSize"), _num(pool.get("minCount")),
                          pool.get("scaleSetPriority") == "Spot", env, f"AKS pool {name!r} scale-from-zero work")


def _azure_agent_pool(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    yield from _azure_pools(r.urn, r.props, str(r.props.get("agentPoolName") or "pool"), env)


def _azure_compute(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    p = r.props.get("properties") or {}
    if p.get("computeType") != "AmlCompute":
        return
    inner = p.get("properties") or {}
    spot = inner.get("vmPriority") == "LowPriority"
    minimum = _num((inner.get("scaleSettings") or {}).get("minNodeCount"))
    if minimum:
        yield _compute(r.urn, "azure", inner.get("vmSize"), minimum, spot, "training cluster minimum nodes")
    yield _training(r.urn, "azure", inner.get("vmSize"), env, spot, "training cluster")


def _azure_registry(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    tier = str((r.props.get("sku") or {}).get("name", "Basic")).lower()
    if tier in ("basic", "standard", "premium"):
        yield _fee(r.urn, "azure", f"acr_{tier}_day", DAYS, "days", f"ACR {tier.capitalize()}")


def _azure_storage(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    yield _fee(r.urn, "azure", "blob_hot_gb_month", STORAGE_GB[env], "GB-month", "assumed hot blob data")


def _azure_logs(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    yield _fee(r.urn, "azure", "log_analytics_gb", LOG_GB[env], "GB ingested", "assumed log ingestion")


# ---- GCP --------------------------------------------------------------------------------------

def _gcp_cluster(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    if r.props.get("enableAutopilot"):
        yield Item(r.urn, 0.0, 0.0, "Autopilot: billed per pod resource request (excluded)")
    yield _fee(r.urn, "gcp", "gke_cluster_hour", HOURS, "cluster-hours", "GKE cluster management fee")


def _zones(props: Mapping[str, Any]) -> int:
    locations = props.get("nodeLocations")
    if isinstance(locations, list) and locations:
        return len(locations)
    location = str(props.get("location") or "")
    return 1 if location[-2:-1] == "-" and location[-1:].isalpha() else 3  # zone "us-central1-a" vs region


def _gcp_node_pool(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    auto = r.props.get("autoscaling") or {}
    node = r.props.get("nodeConfig") or {}
    spot = bool(node.get("spot") or node.get("preemptible"))
    name = r.props.get("name") or "pool"
    if "totalMinNodeCount" in auto:
        count = _num(auto.get("totalMinNodeCount"))
    elif "minNodeCount" in auto:
        count = _num(auto.get("minNodeCount")) * _zones(r.props)
    else:
        count = _num(r.props.get("nodeCount"), _num(r.props.get("initialNodeCount"), 1)) * _zones(r.props)
    yield _compute(r.urn, "gcp", node.get("machineType"), count, spot, f"node pool {name!r} at its minimum")
    if auto:
        yield from _burst(r.urn, "gcp", node.get("machineType"), count, spot, env,
                          f"node pool {name!r} scale-from-zero work")


def _gcp_bucket(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    yield _fee(r.urn, "gcp", "gcs_standard_gb_month", STORAGE_GB[env], "GB-month", "assumed GCS Standard data")


def _gcp_repository(r: Res, env: str, look: Lookup) -> Iterable[Item]:
    yield _fee(r.urn, "gcp", "artifact_registry_gb_month", REGISTRY_GB[env], "GB-month", "assumed image storage")


def _fixed(cloud: str, fee: str, unit: str, what: str, quantity: float = 1) -> Estimator:
    def estimate(r: Res, env: str, look: Lookup) -> Iterable[Item]:
        yield _fee(r.urn, cloud, fee, quantity, unit, what)
    return estimate


def _nat(fee: str, what: str) -> Estimator:
    def estimate(r: Res, env: str, look: Lookup) -> Iterable[Item]:
        yield _extra(r.urn, fee, HOURS, "gateway-hours", what)
    return estimate


ESTIMATORS: dict[str, Estimator] = {
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _aws_endpoint_config,
    "aws:sagemaker/pipeline:Pipeline": _aws_pipeline,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _aws_vpc_endpoint,
    "aws:ec2/natGateway:NatGateway": _nat("aws_nat_gateway_hour", "NAT gateway"),
    "aws:s3/bucket:Bucket": _aws_bucket,
    "aws:ecr/repository:Repository": _aws_ecr,
    "aws:kms/key:Key": _fixed("aws", "kms_key_month", "key-month", "KMS key"),
    "aws:cloudwatch/dashboard:Dashboard": _fixed("aws", "cloudwatch_dashboard_month", "dashboard-month", "dashboard"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _fixed("aws", "cloudwatch_alarm_month", "alarm-month", "alarm"),
    "azure-native:containerservice:ManagedCluster": _azure_cluster,
    "azure-native:containerservice:AgentPool": _azure_agent_pool,
    "azure-native:machinelearningservices:Compute": _azure_compute,
    "azure-native:containerregistry:Registry": _azure_registry,
    "azure-native:storage:StorageAccount": _azure_storage,
    "azure-native:operationalinsights:Workspace": _azure_logs,
    "azure-native:network:NatGateway": _nat("azure_nat_gateway_hour", "NAT gateway"),
    "gcp:container/cluster:Cluster": _gcp_cluster,
    "gcp:container/nodePool:NodePool": _gcp_node_pool,
    "gcp:storage/bucket:Bucket": _gcp_bucket,
    "gcp:artifactregistry/repository:Repository": _gcp_repository,
    "gcp:kms/cryptoKey:CryptoKey": _fixed("gcp", "kms_key_version_month", "key-version-month", "KMS key version"),
    "gcp:compute/routerNat:RouterNat": _nat("gcp_cloud_nat_gateway_hour", "Cloud NAT gateway"),
}


def assumptions(environment: str) -> list[str]:
    return [
        f"{HOURS} hours per month; on-demand list prices from {catalog.catalog()['as_of']} "
        "(infra/data/catalog.yaml); spot/low-priority at the catalog's spot fraction",
        "always-on compute (endpoints, node pools, cluster minimums) runs at its configured minimum all month",
        f"scale-from-zero compute (training clusters, training steps, node pools with minimum 0) runs "
        f"{TRAINING_NODE_HOURS[environment]} node-hours per month ({environment}); nothing when idle",
        f"{STORAGE_GB[environment]} GB per bucket/storage account, {REGISTRY_GB[environment]} GB per image "
        f"repository, {LOG_GB[environment]} GB of logs per workspace ({environment})",
        "idle cost: no traffic and no training; compute at its minimum, storage and fixed fees still billed",
    ]


def _as_res(resource: Any) -> Res:
    props = getattr(resource, "inputs", None)
    if props is None:
        props = getattr(resource, "props", {})
    return Res(resource.type, resource.urn, props or {})


def estimate_resources(cloud: str, environment: str, resources: Iterable[Any]) -> dict[str, Any]:
    """The estimate of `resources` (objects with type, urn and inputs or props)."""
    env = environment if environment in STORAGE_GB else "prod"
    views = [_as_res(r) for r in resources]
    look = Lookup(views)
    items: list[Item] = []
    for r in views:
        estimator = ESTIMATORS.get(r.type)
        if estimator is not None:
            items.extend(estimator(r, env, look))
    excluded = list(EXCLUDED)
    unpriced = sorted({i.basis.split(":")[0] for i in items if "not in the catalog" in i.basis})
    if unpriced:
        excluded.append("compute whose SKU is not in the catalog: " + ", ".join(unpriced))
    return {
        "monthly_usd": round(sum(i.monthly_usd for i in items), 2),
        "items": [{"urn": i.urn, "monthly_usd": round(i.monthly_usd, 2), "basis": i.basis} for i in items],
        "idle_monthly_usd": round(sum(i.idle_usd for i in items), 2),
        "assumptions": assumptions(env),
        "excluded": excluded,
    }


def estimate(plan: Any, spec: Any = None) -> dict[str, Any]:
    """Estimate of a Plan (`infra.engine.Plan`). `spec` is accepted for callers that have it; the
    model reads everything it prices from the planned inputs, so it also prices plans of stacks
    whose spec is not at hand."""
    environment = getattr(spec, "environment", None) or plan.environment
    return estimate_resources(plan.cloud, environment, [r for r in plan.resources if r.custom])
