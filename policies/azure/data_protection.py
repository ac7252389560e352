"""Azure data protection rules (resource and stack)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from policies.azure._shared import CLUSTER, ENDPOINT, REGISTRY, STORAGE, STORAGE_DOC, VAULT, WORKSPACE, C, P
from policies.common import protect_rule, simple
from policies.core import Ctx, Rule, StackResource, dig, is_unknown, known

_MONITORS = (P + "monitor:MetricAlert", P + "monitor:ScheduledQueryRule", P + "machinelearningservices:Schedule")
STATEFUL = (STORAGE, VAULT, REGISTRY, WORKSPACE, P + "keyvault:Key")


def _storage_tls(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("enableHttpsTrafficOnly") is False:
        yield "storage account allows HTTP (enableHttpsTrafficOnly must be True)"
    if known(props.get("minimumTlsVersion")) and props.get("minimumTlsVersion") != "TLS1_2":
        yield f"minimumTlsVersion must be TLS1_2 (got {props.get('minimumTlsVersion')!r})"


def _storage_public(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("allowBlobPublicAccess") is not False and not is_unknown(props.get("allowBlobPublicAccess")):
        yield "anonymous blob access must be disabled (allowBlobPublicAccess=False)"


def _storage_network(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if (
        ctx.env != "dev"
        and props.get("publicNetworkAccess") != "Disabled"
        and dig(props, "networkRuleSet", "defaultAction") != "Deny"
    ):
        yield f"{ctx.env} storage accounts must deny public network access"


def _in_account(child: StackResource, account: StackResource) -> bool | None:
    """True if `child` (container, encryption scope) belongs to `account`; None if unknown."""
    if account.urn in child.property_dependencies.get("accountName", []):
        return True
    name = child.props.get("accountName")
    if is_unknown(name) or is_unknown(account.props.get("accountName")):
        return None
    return name == account.props.get("accountName")


def _storage_cmk(resources: list[StackResource], ctx: Ctx):
    """Account-level CMK, or every container pinned to an encryption scope on a Key Vault key."""
    if ctx.env == "dev":
        return
    for account in (r for r in resources if r.type == STORAGE):
        if dig(account.props, "encryption", "keySource") == "Microsoft.Keyvault":
            continue
        scopes = [
            s for s in resources if s.type == P + "storage:EncryptionScope" and _in_account(s, account) is not False
        ]
        cmk_scopes = {
            s.props.get("encryptionScopeName") for s in scopes if s.props.get("source") == "Microsoft.KeyVault"
        }
        containers = [
            c for c in resources if c.type == P + "storage:BlobContainer" and _in_account(c, account) is not False
        ]
        if any(_in_account(r, account) is None for r in scopes + containers):
            continue  # account names unknown in preview: skip rather than fail
        pinned = [
            c
            for c in containers
            if c.props.get("defaultEncryptionScope") in cmk_scopes
            and c.props.get("denyEncryptionScopeOverride") is True
        ]
        if not containers or not cmk_scopes or len(pinned) < len(containers):
            yield (
                f"{ctx.env} storage must be encrypted with the stack's Key Vault key: set encryption.keySource "
                "Microsoft.Keyvault, or pin every container to a Key Vault encryption scope",
                account.urn,
            )


def _blob_versioning(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("isVersioningEnabled") is not True:
        yield "blob versioning must be enabled (isVersioningEnabled=True)"


def _blob_soft_delete(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if dig(props, "deleteRetentionPolicy", "enabled") is not True:
        yield "blob soft delete must be enabled (deleteRetentionPolicy.enabled=True)"
    if dig(props, "containerDeleteRetentionPolicy", "enabled") is not True:
        yield "container soft delete must be enabled (containerDeleteRetentionPolicy.enabled=True)"


def _container_public(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    access = props.get("publicAccess")
    if known(access) and access != "None":
        yield f"container allows anonymous access (publicAccess {access!r})"


def _vault_protection(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    p = props.get("properties") or {}
    if p.get("enablePurgeProtection") is not True:
        yield "key vault purge protection must be enabled"
    if p.get("enableSoftDelete") is False:
        yield "key vault soft delete must stay enabled"


def _vault_network(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    p = props.get("properties") or {}
    if (
        ctx.env != "dev"
        and p.get("publicNetworkAccess") != "Disabled"
        and dig(p, "networkAcls", "defaultAction") != "Deny"
    ):
        yield f"{ctx.env} key vaults must deny public network access"


def _acr_public(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if (
        ctx.env != "dev"
        and props.get("publicNetworkAccess") != "Disabled"
        and dig(props, "networkRuleSet", "defaultAction") != "Deny"
    ):
        yield f"{ctx.env} registries must deny public network access"


def _workspace(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and props.get("publicNetworkAccess") != "Disabled":
        yield f"{ctx.env} ML workspaces must disable public network access"


def _workspace_cmk(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env == "prod" and dig(props, "encryption", "status") != "Enabled":
        yield "prod ML workspaces must use customer-managed key encryption (encryption.status Enabled)"


def _aks_private(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    api = props.get("apiServerAccessProfile") or {}
    if ctx.env != "dev" and api.get("enablePrivateCluster") is not True and not api.get("authorizedIPRanges"):
        yield f"{ctx.env} AKS API servers must be private or restricted to authorized IP ranges"


def _aks_network_policy(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    policy = dig(props, "networkProfile", "networkPolicy")
    if not is_unknown(policy) and policy in (None, "none"):
        yield "cluster enforces no Kubernetes network policy (networkProfile.networkPolicy azure, calico or cilium)"


def _node_public_ip(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    pools = (
        [props]
        if ctx.type.endswith(":AgentPool")
        else [p for p in (props.get("agentPoolProfiles") or []) if isinstance(p, dict)]
    )
    for pool in pools:
        if pool.get("enableNodePublicIP") is True:
            yield f"pool {pool.get('name') or pool.get('agentPoolName')!r} gives nodes public IPs (enableNodePublicIP)"


def _endpoint_monitor(resources: list[StackResource], ctx: Ctx):
    for ep in (r for r in resources if r.type == ENDPOINT):
        name = ep.props.get("endpointName")
        if is_unknown(name):
            continue
        found = any(
            r.type in _MONITORS and (r.depends_on(ep.urn) or (name and name in json.dumps(r.props))) for r in resources
        )
        if not found:
            yield ("online endpoint has no monitor (metric alert, query alert or monitoring schedule)", ep.urn)


RULES: list[Rule] = [
    simple(
        "azure-storage-storageaccount-require-tls",
        C,
        "data-protection",
        "Storage accounts accept HTTPS only with TLS 1.2+.",
        "Set enableHttpsTrafficOnly=True and minimumTlsVersion TLS1_2.",
        (STORAGE,),
        _storage_tls,
        "high",
        STORAGE_DOC,
    ),
    simple(
        "azure-storage-storageaccount-deny-public-access",
        C,
        "data-protection",
        "Storage accounts allow no anonymous blob access.",
        "Set allowBlobPublicAccess=False.",
        (STORAGE,),
        _storage_public,
        "critical",
        STORAGE_DOC,
    ),
    simple(
        "azure-storage-storageaccount-deny-public-network-access",
        C,
        "data-protection",
        "Outside dev, storage accounts deny public network access.",
        "Set publicNetworkAccess Disabled (private endpoints) or networkRuleSet.defaultAction Deny.",
        (STORAGE,),
        _storage_network,
        "critical",
        STORAGE_DOC,
    ),
    Rule(
        "azure-storage-storageaccount-require-cmk",
        C,
        "data-protection",
        "Outside dev, storage is encrypted with the stack's Key Vault key: at account level, or with "
        "every container pinned to a Key Vault encryption scope.",
        "Set encryption.keySource Microsoft.Keyvault, or give each container defaultEncryptionScope "
        "(a Key Vault scope) with denyEncryptionScopeOverride=True.",
        "high",
        STORAGE_DOC,
        stack_check=_storage_cmk,
    ),
    simple(
        "azure-storage-blobserviceproperties-require-versioning",
        C,
        "data-protection",
        "Blob services keep versions.",
        "Set isVersioningEnabled=True.",
        (P + "storage:BlobServiceProperties",),
        _blob_versioning,
        "high",
        STORAGE_DOC,
    ),
    simple(
        "azure-storage-blobserviceproperties-require-soft-delete",
        C,
        "data-protection",
        "Blob services soft-delete blobs and containers.",
        "Set deleteRetentionPolicy and containerDeleteRetentionPolicy (enabled, days).",
        (P + "storage:BlobServiceProperties",),
        _blob_soft_delete,
        "high",
        STORAGE_DOC,
    ),
    simple(
        "azure-storage-blobcontainer-deny-public-access",
        C,
        "data-protection",
        "Blob containers allow no anonymous access.",
        "Set publicAccess None.",
        (P + "storage:BlobContainer",),
        _container_public,
        "critical",
        STORAGE_DOC,
    ),
    simple(
        "azure-keyvault-vault-require-purge-protection",
        C,
        "data-protection",
        "Key vaults keep soft delete and purge protection.",
        "Set properties.enablePurgeProtection=True.",
        (VAULT,),
        _vault_protection,
        "high",
    ),
    simple(
        "azure-keyvault-vault-deny-public-network-access",
        C,
        "data-protection",
        "Outside dev, key vaults deny public network access.",
        "Set properties.publicNetworkAccess Disabled or networkAcls.defaultAction Deny.",
        (VAULT,),
        _vault_network,
        "high",
    ),
    simple(
        "azure-containerregistry-registry-deny-public-access",
        C,
        "data-protection",
        "Outside dev, registries deny public network access.",
        "Use Premium with publicNetworkAccess Disabled and a private endpoint.",
        (REGISTRY,),
        _acr_public,
        "high",
    ),
    simple(
        "azure-machinelearningservices-workspace-deny-public-access",
        C,
        "data-protection",
        "Outside dev, ML workspaces disable public network access.",
        "Set publicNetworkAccess Disabled.",
        (WORKSPACE,),
        _workspace,
        "high",
    ),
    simple(
        "azure-machinelearningservices-workspace-require-cmk",
        C,
        "data-protection",
        "In prod, ML workspaces are encrypted with a customer-managed key.",
        "Set encryption (status Enabled) with the stack's Key Vault key.",
        (WORKSPACE,),
        _workspace_cmk,
        "high",
    ),
    simple(
        "azure-containerservice-managedcluster-restrict-api-access",
        C,
        "data-protection",
        "Outside dev, the AKS API server is private or limited to authorized IP ranges.",
        "Set apiServerAccessProfile.enablePrivateCluster or authorizedIPRanges.",
        (CLUSTER,),
        _aks_private,
        "high",
    ),
    simple(
        "azure-containerservice-managedcluster-require-network-policy",
        C,
        "data-protection",
        "AKS clusters enforce Kubernetes network policies.",
        "Set networkProfile.networkPolicy (azure, calico or cilium).",
        (CLUSTER,),
        _aks_network_policy,
        "high",
        "https://learn.microsoft.com/azure/aks/use-network-policies",
    ),
    simple(
        "azure-containerservice-agentpool-deny-node-public-ip",
        C,
        "data-protection",
        "AKS nodes have no public IPs.",
        "Set enableNodePublicIP=False on every pool.",
        (CLUSTER, P + "containerservice:AgentPool"),
        _node_public_ip,
        "high",
        "https://learn.microsoft.com/azure/aks/use-node-public-ips",
    ),
    protect_rule(C, STATEFUL),
    Rule(
        "azure-stack-endpoints-require-monitor",
        C,
        "data-protection",
        "Every online endpoint has a metric alert, query alert or monitoring schedule.",
        "Add monitor.MetricAlert on the endpoint's latency/errors.",
        "medium",
        stack_check=_endpoint_monitor,
    ),
]
