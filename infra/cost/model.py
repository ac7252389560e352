"""The cost model's building blocks: assumptions, line items and pricing helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra import catalog

HOURS = catalog.HOURS_PER_MONTH
DAYS = HOURS / 24
UNKNOWN = "<unknown>"
UNKNOWN_UNTIL_DEPLOY = "unknown until deploy, not priced"  # in an Item's basis; estimate() lists these

# Assumptions per environment, stated in every estimate.
STORAGE_GB = {"dev": 50, "staging": 200, "prod": 1000}  # per bucket / storage account
REGISTRY_GB = {"dev": 5, "staging": 20, "prod": 50}  # per image repository
TRAINING_NODE_HOURS = {"dev": 20, "staging": 40, "prod": 120}  # scale-from-zero training, per month
LOG_GB = {"dev": 2, "staging": 10, "prod": 50}  # log ingestion per workspace

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


Estimator = Callable[[Res, str], Iterable[Item]]


def num(value: Any, default: float = 0.0) -> float:
    try:
        return float(value) if value is not None and value != UNKNOWN else default
    except (TypeError, ValueError):
        return default


def sku_of(cloud: str, name: Any) -> catalog.Sku | None:
    return catalog.known_sku(cloud, str(name)) if name not in (None, UNKNOWN) else None


def compute(
    urn: str, cloud: str, sku_name: Any, count: float, spot: bool, what: str, idle_count: float | None = None
) -> Item:
    sku = sku_of(cloud, sku_name)
    if sku is None:
        return Item(urn, 0.0, 0.0, f"{what}: SKU {sku_name!r} not in the catalog, not priced")
    rate = sku.usd_per_hour * (catalog.spot_fraction(cloud) if spot else 1.0)
    idle = count if idle_count is None else idle_count
    price = f"{sku.usd_per_hour:g} USD/h" + (f" x {catalog.spot_fraction(cloud):g} spot" if spot else "")
    return Item(urn, count * rate * HOURS, idle * rate * HOURS, f"{what}: {count:g} x {sku.name} x {HOURS} h x {price}")


def fee(urn: str, cloud: str, name: str, quantity: float, unit: str, what: str, idle: bool = True) -> Item:
    price = catalog.fee(cloud, name)
    total = price * quantity
    return Item(urn, total, total if idle else 0.0, f"{what}: {quantity:g} {unit} x {price:g} USD ({name})")


def extra_fee(urn: str, name: str, quantity: float, unit: str, what: str) -> Item:
    price, _ = EXTRA_FEES[name]
    return Item(urn, price * quantity, price * quantity, f"{what}: {quantity:g} {unit} x {price:g} USD ({name})")


def scale_from_zero(urn: str, cloud: str, sku_name: Any, env: str, spot: bool, what: str) -> Item:
    sku = sku_of(cloud, sku_name)
    hours = TRAINING_NODE_HOURS[env]
    if sku is None:
        return Item(urn, 0.0, 0.0, f"{what}: SKU {sku_name!r} not in the catalog, not priced")
    rate = sku.usd_per_hour * (catalog.spot_fraction(cloud) if spot else 1.0)
    return Item(
        urn,
        hours * rate,
        0.0,
        f"{what}: assumed {hours} node-hours/month x {sku.name} x {sku.usd_per_hour:g} USD/h"
        + (f" x {catalog.spot_fraction(cloud):g} spot" if spot else "")
        + "; idle: scaled to zero",
    )


def burst(urn: str, cloud: str, sku_name: Any, minimum: float, spot: bool, env: str, what: str) -> list[Item]:
    """Pools that scale from zero exist for training/batch work: price the assumed node-hours."""
    return [] if minimum else [scale_from_zero(urn, cloud, sku_name, env, spot, what)]


def fixed(cloud: str, fee_name: str, unit: str, what: str, quantity: float = 1) -> Estimator:
    """An estimator for a flat monthly catalog fee per resource."""

    def estimate(r: Res, env: str) -> Iterable[Item]:
        yield fee(r.urn, cloud, fee_name, quantity, unit, what)

    return estimate


def nat(fee_name: str, what: str) -> Estimator:
    """An estimator for an always-on gateway billed per hour."""

    def estimate(r: Res, env: str) -> Iterable[Item]:
        yield extra_fee(r.urn, fee_name, HOURS, "gateway-hours", what)

    return estimate
