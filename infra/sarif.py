"""`mlops check --format sarif`: the check as SARIF 2.1.0, for GitHub code scanning.

One result per violation (level error for mandatory, warning for advisory), located in the stack
file at the spec field that controls the rule where one does (`CONFIG_PATHS`), else at `mlops:spec`,
with the resource URN as a logical location. Waived violations are results with an accepted
in-source suppression located at their waiver; a waiver that matches nothing is a note. Stacks that
could not be planned are tool execution notifications.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"mandatory": "error", "advisory": "warning"}
SPEC_KEY = "mlops:spec"

# The spec field that decides each rule's outcome, where one does (dotted, under mlops:spec).
_CMK = "storage.customer_managed_keys"
_NETWORK = "network.mode"
CONFIG_PATHS: dict[str, str] = {
    **{
        f"{c}-all-resources-{v}": "tags"
        for c in ("aws", "azure", "gcp")
        for v in ("require-tags", "validate-tag-values")
    },
    **{f"{c}-stack-cost-require-within-budget": "budget.monthly_usd" for c in ("aws", "azure", "gcp")},
    **{f"{c}-stack-budget-require-notifications": "budget.alert_thresholds_percent" for c in ("aws", "azure", "gcp")},
    **{f"{c}-stateful-resources-require-protect": "environment" for c in ("aws", "azure", "gcp")},
    "aws-sagemaker-endpointconfig-restrict-instance-types": "serving.size_class",
    "aws-sagemaker-endpointconfig-limit-instance-count": "serving.min_replicas",
    "aws-appautoscaling-target-limit-capacity": "serving.max_replicas",
    "aws-sagemaker-pipeline-restrict-training": "training.size_class",
    "aws-sagemaker-pipeline-limit-instance-count": "training.max_nodes",
    "aws-sagemaker-pipeline-require-spot-training": "training.spot",
    "aws-cloudwatch-loggroup-require-retention": "storage.log_retention_days",
    "azure-operationalinsights-workspace-require-retention": "storage.log_retention_days",
    "aws-s3-bucketversioning-require-enabled": "storage.versioning",
    "aws-stack-s3-buckets-require-versioning": "storage.versioning",
    "azure-storage-blobserviceproperties-require-versioning": "storage.versioning",
    "gcp-storage-bucket-require-versioning": "storage.versioning",
    "aws-s3-bucketsse-require-kms": _CMK,
    "aws-sagemaker-endpointconfig-require-kms": _CMK,
    "aws-ecr-repository-require-kms": _CMK,
    "aws-sns-topic-require-kms": _CMK,
    "aws-sagemaker-domain-require-kms": _CMK,
    "azure-storage-storageaccount-require-cmk": _CMK,
    "azure-machinelearningservices-workspace-require-cmk": _CMK,
    "gcp-storage-bucket-require-cmek": _CMK,
    "gcp-artifactregistry-repository-require-cmek": _CMK,
    "gcp-vertex-resources-require-cmek": _CMK,
    "gcp-container-cluster-require-secret-encryption": _CMK,
    "aws-sagemaker-domain-require-vpc-only": _NETWORK,
    "aws-sagemaker-notebook-deny-direct-internet": _NETWORK,
    "azure-storage-storageaccount-deny-public-network-access": _NETWORK,
    "azure-keyvault-vault-deny-public-network-access": _NETWORK,
    "azure-containerregistry-registry-deny-public-access": _NETWORK,
    "azure-machinelearningservices-workspace-deny-public-access": _NETWORK,
    "azure-containerservice-managedcluster-restrict-api-access": _NETWORK,
    "gcp-container-cluster-require-private-nodes": _NETWORK,
    "azure-containerservice-restrict-vm-sizes": "kubernetes.user_pool.size_class",
    "azure-containerservice-limit-node-counts": "kubernetes.user_pool.max_nodes",
    "azure-containerservice-agentpool-require-spot": "kubernetes.user_pool.spot",
    "azure-containerservice-agentpool-require-scale-to-zero": "kubernetes.user_pool.min_nodes",
    "azure-machinelearningservices-compute-restrict-vm-sizes": "training.size_class",
    "azure-machinelearningservices-compute-limit-node-count": "training.max_nodes",
    "azure-machinelearningservices-compute-require-low-priority": "training.spot",
    "gcp-container-nodepool-restrict-machine-types": "kubernetes.user_pool.size_class",
    "gcp-container-nodepool-limit-node-counts": "kubernetes.user_pool.max_nodes",
    "gcp-container-nodepool-require-spot": "kubernetes.user_pool.spot",
    "gcp-container-nodepool-require-scale-to-zero": "kubernetes.user_pool.min_nodes",
    "aws-stack-sagemaker-model-require-artifact": "serving",
    "azure-stack-ml-serving-require-artifact": "serving",
}


def _segments(dotted: str) -> list[str | int]:
    parts: list[str | int] = []
    for part in dotted.split("."):
        name, *indexes = part.replace("]", "").split("[")
        parts.append(name)
        parts += [int(i) for i in indexes]
    return parts


@lru_cache(maxsize=64)
def _tree(path: str) -> yaml.Node | None:
    try:
        return yaml.compose(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


def line_of(path: str, dotted: str | None) -> int:
    """The line of `mlops:spec.<dotted>` in a stack file: the deepest part of the path the file sets."""
    node, line = _tree(path), 1
    for step in ["config", SPEC_KEY, *(_segments(dotted) if dotted else [])]:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == step), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _location(report, urn: str | None, dotted: str | None) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if report.path:
        path = Path(report.path)
        artifact = (
            {"uri": path.as_uri()}
            if path.is_absolute()  # a stack file outside the project
            else {"uri": path.as_posix(), "uriBaseId": "%SRCROOT%"}
        )
        location["physicalLocation"] = {
            "artifactLocation": artifact,
            "region": {"startLine": line_of(report.path, dotted)},
        }
    logical = [{"fullyQualifiedName": f"{SPEC_KEY}.{dotted}" if dotted else SPEC_KEY, "kind": "member"}]
    if urn:
        logical.insert(0, {"name": urn.rsplit("::", 1)[-1], "fullyQualifiedName": urn, "kind": "resource"})
    location["logicalLocations"] = logical
    return location


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def _rule(name: str) -> dict[str, Any]:
    from infra.checker import policy_info

    info = policy_info(name)
    rule = {
        "id": name,
        "name": name,
        "shortDescription": {"text": info["description"]},
        "fullDescription": {"text": info["description"]},
        "help": {"text": info["remediation"]},
        "properties": {"tags": [info["cloud"], info["group"]]},
    }
    if info["url"]:
        rule["helpUri"] = info["url"]
    return rule


def _waiver_rule() -> dict[str, Any]:
    from policies.waivers import WAIVERS_POLICY

    return {
        "id": WAIVERS_POLICY,
        "name": WAIVERS_POLICY,
        "shortDescription": {"text": "A policy waiver that matches no violation."},
        "help": {"text": "Remove the waiver from mlops:spec.policy.waivers."},
        "defaultConfiguration": {"level": "note"},
    }


def render_sarif(reports: Iterable) -> str:
    from policies.waivers import WAIVERS_POLICY

    reports = list(reports)
    names = sorted({v["policy"] for r in reports for v in r.violations + r.waived})
    rules = [_rule(n) for n in names]
    if any(r.unused_waivers for r in reports):
        names.append(WAIVERS_POLICY)
        rules.append(_waiver_rule())
    index = {n: i for i, n in enumerate(names)}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for r in reports:
        if r.error:
            notifications.append({"level": "error", "message": {"text": f"{r.stack}: could not be planned: {r.error}"}})
        waiver_index = {(w["rule"], w["resource"]): i for i, w in enumerate(_spec_waivers(r))}
        for v in r.violations:
            results.append(_result(r, v, index, CONFIG_PATHS.get(v["policy"])))
        for v in r.waived:
            w = v["waiver"]
            where = waiver_index.get((w["rule"], w["resource"]))
            result = _result(r, v, index, f"policy.waivers[{where}]" if where is not None else "policy.waivers")
            result["suppressions"] = [
                {
                    "kind": "inSource",
                    "status": "accepted",
                    "justification": f"{w['reason']} (approved by {w['approved_by']} until {w['expires']})",
                }
            ]
            results.append(result)
        for w in r.unused_waivers:
            where = waiver_index.get((w["rule"], w["resource"]))
            dotted = f"policy.waivers[{where}]" if where is not None else "policy.waivers"
            results.append(
                {
                    "ruleId": WAIVERS_POLICY,
                    "ruleIndex": index[WAIVERS_POLICY],
                    "level": "note",
                    "message": {
                        "text": f"{r.stack}: waiver of {w['rule']} for {w['resource']!r} matches no "
                        "violation; remove it"
                    },
                    "locations": [_location(r, None, dotted)],
                    "partialFingerprints": {"mlopsWaiver/v1": _fingerprint(r.stack, w["rule"], w["resource"])},
                }
            )
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "mlops-policies",
                "version": _version(),
                "semanticVersion": _version(),
                "informationUri": "https://www.pulumi.com/docs/iac/using-pulumi/crossguard/",
                "rules": rules,
            }
        },
        "invocations": [{"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}],
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().resolve().as_uri() + "/"}},
        "results": results,
    }
    return json.dumps({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}, indent=2)


def _result(report, v: dict[str, Any], index: dict[str, int], dotted: str | None) -> dict[str, Any]:
    return {
        "ruleId": v["policy"],
        "ruleIndex": index[v["policy"]],
        "level": LEVELS.get(v["enforcement"], "warning"),
        "message": {"text": f"{report.stack}: {v['message']}"},
        "locations": [_location(report, v["urn"], dotted)],
        "partialFingerprints": {"mlopsViolation/v1": _fingerprint(report.stack, v["policy"], v["urn"], v["message"])},
        "properties": {"stack": report.stack, "enforcement": v["enforcement"]},
    }


def _spec_waivers(report) -> list[dict[str, Any]]:
    """The stack file's waivers in file order (for the config path of each)."""
    if not report.path:
        return []
    try:
        document = yaml.safe_load(Path(report.path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    spec = (document.get("config") or {}).get(SPEC_KEY) or {}
    return [w for w in ((spec.get("policy") or {}).get("waivers") or []) if isinstance(w, dict)]


def _version() -> str:
    try:
        return metadata.version("mlops-platform")
    except metadata.PackageNotFoundError:
        return "0.0.0"
