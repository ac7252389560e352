"""GCP estimators: GKE (cluster fee, node pools per zone), GCS, Artifact Registry, Cloud KMS, Cloud NAT."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from infra.cost.model import (
    HOURS,
    REGISTRY_GB,
    STORAGE_GB,
    Estimator,
    Item,
    Res,
    burst,
    compute,
    fee,
    fixed,
    nat,
    num,
)


def _cluster(r: Res, env: str) -> Iterable[Item]:
    if r.props.get("enableAutopilot"):
        yield Item(r.urn, 0.0, 0.0, "Autopilot: billed per pod resource request (excluded)")
    yield fee(r.urn, "gcp", "gke_cluster_hour", HOURS, "cluster-hours", "GKE cluster management fee")


def _zones(props: Mapping[str, Any]) -> int:
    locations = props.get("nodeLocations")
    if isinstance(locations, list) and locations:
        return len(locations)
    location = str(props.get("location") or "")
    return 1 if location[-2:-1] == "-" and location[-1:].isalpha() else 3  # zone "us-central1-a" vs region


def _node_pool(r: Res, env: str) -> Iterable[Item]:
    auto = r.props.get("autoscaling") or {}
    node = r.props.get("nodeConfig") or {}
    spot = bool(node.get("spot") or node.get("preemptible"))
    name = r.props.get("name") or "pool"
    if "totalMinNodeCount" in auto:
        count = num(auto.get("totalMinNodeCount"))
    elif "minNodeCount" in auto:
        count = num(auto.get("minNodeCount")) * _zones(r.props)
    else:
        count = num(r.props.get("nodeCount"), num(r.props.get("initialNodeCount"), 1)) * _zones(r.props)
    yield compute(r.urn, "gcp", node.get("machineType"), count, spot, f"node pool {name!r} at its minimum")
    if auto:
        yield from burst(
            r.urn, "gcp", node.get("machineType"), count, spot, env, f"node pool {name!r} scale-from-zero work"
        )


def _bucket(r: Res, env: str) -> Iterable[Item]:
    yield fee(r.urn, "gcp", "gcs_standard_gb_month", STORAGE_GB[env], "GB-month", "assumed GCS Standard data")


def _repository(r: Res, env: str) -> Iterable[Item]:
    yield fee(r.urn, "gcp", "artifact_registry_gb_month", REGISTRY_GB[env], "GB-month", "assumed image storage")


ESTIMATORS: dict[str, Estimator] = {
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:kms/cryptoKey:CryptoKey": fixed("gcp", "kms_key_version_month", "key-version-month", "KMS key version"),
    "gcp:compute/routerNat:RouterNat": nat("gcp_cloud_nat_gateway_hour", "Cloud NAT gateway"),
}
