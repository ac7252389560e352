"""Portable size classes, the SKUs they map to on each cloud, and dated list prices.

The data lives in `data/catalog.yaml` so prices can be reviewed and updated without code changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Literal

import yaml

Cloud = Literal["aws", "azure", "gcp"]
CLOUDS: tuple[Cloud, ...] = ("aws", "azure", "gcp")
SIZE_CLASSES = ("cpu-small", "cpu-medium", "cpu-large", "gpu-small", "gpu-large")
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Sku:
    cloud: str
    name: str
    usd_per_hour: float
    gpus: int
    size_class: str | None  # None for SKUs named directly (extra_skus)


@lru_cache(maxsize=1)
def catalog() -> dict:
    text = resources.files("infra").joinpath("data/catalog.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@lru_cache(maxsize=1)
def regions() -> dict[str, tuple[str, ...]]:
    text = resources.files("infra").joinpath("data/regions.yaml").read_text(encoding="utf-8")
    return {cloud: tuple(names) for cloud, names in yaml.safe_load(text).items()}


@cache
def _skus(cloud: str) -> dict[str, Sku]:
    data = catalog()
    skus: dict[str, Sku] = {}
    for size_class, entry in data["classes"].items():
        own = entry[cloud]
        skus[own["sku"]] = Sku(cloud, own["sku"], own["usd_per_hour"], entry["gpus"], size_class)
    for name, extra in data["extra_skus"][cloud].items():
        skus[name] = Sku(cloud, name, extra["usd_per_hour"], extra["gpus"], None)
    return skus


def sku_for_class(cloud: str, size_class: str) -> Sku:
    name = catalog()["classes"][size_class][cloud]["sku"]
    return _skus(cloud)[name]


def known_sku(cloud: str, name: str) -> Sku | None:
    return _skus(cloud).get(name)


def known_sku_names(cloud: str) -> list[str]:
    return sorted(_skus(cloud))


def resolve_sku(cloud: str, size_class: str, override: str | None = None) -> Sku:
    """The SKU a workload runs on: the explicit override if given, else the size class's SKU."""
    if override:
        sku = known_sku(cloud, override)
        if sku is None:
            raise KeyError(override)
        return sku
    return sku_for_class(cloud, size_class)


def is_gpu_class(size_class: str) -> bool:
    return catalog()["classes"][size_class]["gpus"] > 0


def spot_fraction(cloud: str) -> float:
    return float(catalog()["spot_fraction"][cloud])


def fee(cloud: str, name: str) -> float:
    return float(catalog()["fees"][cloud][name]["usd"])


def fee_source(cloud: str, name: str) -> str:
    return str(catalog()["fees"][cloud][name]["source"])


def price_source(cloud: str) -> str:
    return f"{catalog()['sources'][cloud]} (list price as of {catalog()['as_of']})"
