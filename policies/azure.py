"""Azure rules: IAM, cost, data protection (tagging, budget and protection rules: policies.common)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from policies.common import (
    SKU_PARAMS,
    budget_rules,
    count_problem,
    protect_rule,
    simple,
    sku_problems,
    tagging_rules,
)
from policies.core import Ctx, Rule, StackResource, as_list, dig, is_unknown, known

C = "azure"
P = "azure-native:"
CLUSTER = P + "containerservice:ManagedCluster"
AGENT_POOL = P + "containerservice:AgentPool"
REGISTRY = P + "containerregistry:Registry"
VAULT = P + "keyvault:Vault"
STORAGE = P + "storage:StorageAccount"
COMPUTE = P + "machinelearningservices:Compute"
WORKSPACE = P + "machinelearningservices:Workspace"
ENDPOINT = P + "machinelearningservices:OnlineEndpoint"
PRIVILEGED_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}
RBAC_DOC = "https://learn.microsoft.com/azure/role-based-access-control/best-practices"


def _role(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    role = props.get("roleDefinitionId")
    if not known(role):
        return
    guid = str(role).rstrip("/").rsplit("/", 1)[-1].lower()
    if guid in PRIVILEGED_ROLES:
        yield (f"role assignment grants {PRIVILEGED_ROLES[guid]} ({guid}); "
               "use a narrower built-in role scoped to the resource")


def _vault_rbac(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    p = props.get("properties") or {}
    if p.get("enableRbacAuthorization") is not True and not is_unknown(p.get("enableRbacAuthorization")):
        yield "key vault must use Azure RBAC (properties.enableRbacAuthorization=True)"
    if as_list(p.get("accessPolicies")):
        yield "key vault has legacy access policies; grant access with RBAC role assignments"


def _aks_local(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("disableLocalAccounts") is not True:
        yield "AKS local accounts must be disabled (disableLocalAccounts=True)"
    aad = props.get("aadProfile") or {}
    if not (aad.get("managed") is not False and aad.get("enableAzureRBAC") is True):
        yield "AKS must use Entra ID with Azure RBAC (aadProfile.managed and aadProfile.enableAzureRBAC)"


def _acr_admin(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("adminUserEnabled") is not False and not is_unknown(props.get("adminUserEnabled")):
        yield "registry admin user must be disabled (adminUserEnabled=False)"
    if props.get("anonymousPullEnabled") is True:
        yield "anonymous pull must be disabled"


def _shared_key(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("allowSharedKeyAccess") is not False and not is_unknown(props.get("allowSharedKeyAccess")):
        yield "storage account keys must be disabled (allowSharedKeyAccess=False); use Entra ID"


def _compute_props(props: Mapping[str, Any]) -> dict:
    return props.get("properties") or {}


def _compute_local_auth(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    p = _compute_props(props)
    if p.get("computeType") in ("AmlCompute", "ComputeInstance") and p.get("disableLocalAuth") is not True:
        yield "compute must disable local auth (properties.disableLocalAuth=True)"
    if dig(p, "properties", "remoteLoginPortPublicAccess") == "Enabled":
        yield "compute exposes SSH publicly (remoteLoginPortPublicAccess Enabled)"


def _endpoint_auth(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    mode = dig(props, "properties", "authMode")
    if known(mode) and mode == "Key":
        yield "online endpoint uses static keys; use authMode AADToken or AMLToken"


# ---- cost -------------------------------------------------------------------------------------

def _pools(props: Mapping[str, Any], ctx: Ctx) -> list[tuple[str, Mapping[str, Any]]]:
    if ctx.type == AGENT_POOL:
        return [(str(props.get("agentPoolName") or "pool"), props)]
    return [(str(p.get("name")), p) for p in as_list(props.get("agentPoolProfiles")) if isinstance(p, dict)]


def _aks_skus(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for name, pool in _pools(props, ctx):
        yield from sku_problems(C, pool.get("vmSize"), ctx, f"pool {name!r} vmSize")


def _aks_counts(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for name, pool in _pools(props, ctx):
        for key in ("count", "maxCount"):
            yield from count_problem(pool.get(key), ctx, "max_nodes", f"pool {name!r} {key}")


def _aks_spot(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for name, pool in _pools(props, ctx):
        if pool.get("mode") == "System":
            continue  # system pools cannot be spot and keep >= 1 node
        if ctx.limit("require_spot") and pool.get("scaleSetPriority") != "Spot":
            yield f"user pool {name!r} must use Spot VMs in {ctx.env}"
        if pool.get("enableAutoScaling") is not True:
            yield f"user pool {name!r} must autoscale (enableAutoScaling=True)"
        elif ctx.limit("scale_to_zero") and known(pool.get("minCount")) and float(pool.get("minCount") or 0) > 0:
            yield f"user pool {name!r} must scale to zero in {ctx.env} (minCount 0)"


def _aml(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    p = _compute_props(props)
    if p.get("computeType") != "AmlCompute":
        return
    inner = p.get("properties") or {}
    yield from sku_problems(C, inner.get("vmSize"), ctx, "training cluster vmSize")
    scale = inner.get("scaleSettings") or {}
    if known(scale.get("minNodeCount")) and float(scale.get("minNodeCount") or 0) != 0:
        yield f"training cluster must scale to zero (scaleSettings.minNodeCount 0, got {scale.get('minNodeCount')})"
    yield from count_problem(scale.get("maxNodeCount"), ctx, "max_nodes", "training cluster maxNodeCount")
    if ctx.limit("require_spot") and inner.get("vmPriority") != "LowPriority":
        yield f"training cluster must use LowPriority VMs in {ctx.env}"


def _acr_sku(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    sku = dig(props, "sku", "name")
    if known(sku) and sku not in ctx.limit("registry_skus"):
        yield f"registry SKU {sku!r} is not allowed in {ctx.env} (allowed: {', '.join(ctx.limit('registry_skus'))})"


def _log_retention(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    days = props.get("retentionInDays")
    if days is None:
        yield "set retentionInDays explicitly"
    elif known(days) and float(days) > ctx.limit("max_days"):
        yield f"retentionInDays {float(days):g} exceeds the {ctx.env} maximum of {ctx.limit('max_days')}"


# ---- data protection --------------------------------------------------------------------------

def _storage_tls(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("enableHttpsTrafficOnly") is False:
        yield "storage account allows HTTP (enableHttpsTrafficOnly must be True)"
    if known(props.get("minimumTlsVersion")) and props.get("minimumTlsVersion") != "TLS1_2":
        yield f"minimumTlsVersion must be TLS1_2 (got {props.get('minimumTlsVersion')!r})"


def _storage_public(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("allowBlobPublicAccess") is not False and not is_unknown(props.get("allowBlobPublicAccess")):
        yield "anonymous blob access must be disabled (allowBlobPublicAccess=False)"
    if ctx.env != "dev" and props.get("publicNetworkAccess") != "Disabled" \
            and dig(props, "networkRuleSet", "defaultAction") != "Deny":
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
        scopes = [s for s in resources if s.type == P + "storage:EncryptionScope" and _in_account(s, account) is not False]
        cmk_scopes = {s.props.get("encryptionScopeName") for s in scopes if s.props.get("source") == "Microsoft.KeyVault"}
        containers = [c for c in resources if c.type == P + "storage:BlobContainer" and _in_account(c, account) is not False]
        if any(_in_account(r, account) is None for r in scopes + containers):
            continue  # account names unknown in preview: skip rather than fail
        pinned = [c for c in containers if c.props.get("defaultEncryptionScope") in cmk_scopes
                  and c.props.get("denyEncryptionScopeOverride") is True]
        if not containers or not cmk_scopes or len(pinned) < len(containers):
            yield (f"{ctx.env} storage must be encrypted with the stack's Key Vault key: set encryption.keySource "
                   "Microsoft.Keyvault, or pin every container to a Key Vault encryption scope", account.urn)


def _blob_soft_delete(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("isVersioningEnabled") is not True:
        yield "blob versioning must be enabled (isVersioningEnabled=True)"
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
    if ctx.env != "dev" and p.get("publicNetworkAccess") != "Disabled" \
            and dig(p, "networkAcls", "defaultAction") != "Deny":
        yield f"{ctx.env} key vaults must deny public network access"


def _acr_public(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and props.get("publicNetworkAccess") != "Disabled" \
            and dig(props, "networkRuleSet", "defaultAction") != "Deny":
        yield f"{ctx.env} registries must deny public network access"


def _workspace(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if ctx.env != "dev" and props.get("publicNetworkAccess") != "Disabled":
        yield f"{ctx.env} ML workspaces must disable public network access"
    if ctx.env == "prod" and dig(props, "encryption", "status") != "Enabled":
        yield "prod ML workspaces must use customer-managed key encryption (encryption.status Enabled)"


def _aks_private(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    api = props.get("apiServerAccessProfile") or {}
    if ctx.env != "dev" and api.get("enablePrivateCluster") is not True and not api.get("authorizedIPRanges"):
        yield f"{ctx.env} AKS API servers must be private or restricted to authorized IP ranges"


# ---- stack ------------------------------------------------------------------------------------

_MONITORS = (P + "monitor:MetricAlert", P + "monitor:ScheduledQueryRule", P + "machinelearningservices:Schedule")


def _endpoint_monitor(resources: list[StackResource], ctx: Ctx):
    for ep in (r for r in resources if r.type == ENDPOINT):
        name = ep.props.get("endpointName")
        if is_unknown(name):
            continue
        found = any(r.type in _MONITORS and (r.depends_on(ep.urn) or (name and name in json.dumps(r.props)))
                    for r in resources)
        if not found:
            yield ("online endpoint has no monitor (metric alert, query alert or monitoring schedule)", ep.urn)


STATEFUL = (STORAGE, VAULT, REGISTRY, WORKSPACE, P + "keyvault:Key")
AKS_PARAMS = {**SKU_PARAMS, "require_spot": {"dev": True, "staging": False, "prod": False},
              "scale_to_zero": {"dev": True, "staging": False, "prod": False}}
STORAGE_DOC = "https://learn.microsoft.com/azure/storage/blobs/security-recommendations"

RULES: list[Rule] = [
    # IAM
    simple("azure-authorization-roleassignment-deny-privileged-roles", C, "iam",
           "No Owner, Contributor or User Access Administrator role assignments for workload identities.",
           "Assign a narrow built-in role (e.g. Storage Blob Data Contributor) at the resource scope.",
           (P + "authorization:RoleAssignment",), _role, "critical", RBAC_DOC),
    simple("azure-keyvault-vault-require-rbac", C, "iam",
           "Key vaults authorize with Azure RBAC, not access policies.",
           "Set properties.enableRbacAuthorization=True and grant Key Vault Crypto/Secrets roles.",
           (VAULT,), _vault_rbac, "high", "https://learn.microsoft.com/azure/key-vault/general/rbac-guide"),
    simple("azure-containerservice-managedcluster-disable-local-accounts", C, "iam",
           "AKS clusters disable local accounts and use Entra ID with Azure RBAC.",
           "Set disableLocalAccounts=True and aadProfile {managed: True, enableAzureRBAC: True}.",
           (CLUSTER,), _aks_local, "high", "https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad"),
    simple("azure-containerregistry-registry-disable-admin-user", C, "iam",
           "Container registries disable the admin user and anonymous pull.",
           "Set adminUserEnabled=False; grant AcrPull/AcrPush roles to identities.",
           (REGISTRY,), _acr_admin, "high", "https://learn.microsoft.com/azure/container-registry/container-registry-authentication"),
    simple("azure-storage-storageaccount-disable-shared-key", C, "iam",
           "Storage accounts disable shared keys so access goes through Entra ID and RBAC.",
           "Set allowSharedKeyAccess=False.", (STORAGE,), _shared_key, "high", STORAGE_DOC),
    simple("azure-machinelearningservices-compute-disable-local-auth", C, "iam",
           "ML compute disables local auth and public SSH.",
           "Set properties.disableLocalAuth=True and remoteLoginPortPublicAccess Disabled.",
           (COMPUTE,), _compute_local_auth, "high"),
    simple("azure-machinelearningservices-onlineendpoint-deny-key-auth", C, "iam",
           "Online endpoints authenticate with tokens, not static keys.",
           "Set properties.authMode to AADToken or AMLToken.", (ENDPOINT,), _endpoint_auth, "medium"),
    # cost
    simple("azure-containerservice-restrict-vm-sizes", C, "cost",
           "AKS pools use catalogued VM sizes; no GPU sizes in dev.",
           "Use a cpu-* size class for the pools or drop the GPU pool in dev.",
           (CLUSTER, AGENT_POOL), _aks_skus, "medium", params=SKU_PARAMS),
    simple("azure-containerservice-limit-node-counts", C, "cost",
           "AKS pool node counts stay under the environment's cap.",
           "Lower kubernetes.*_pool.max_nodes.", (CLUSTER, AGENT_POOL), _aks_counts, "medium", params=SKU_PARAMS),
    simple("azure-containerservice-agentpool-require-spot-autoscale", C, "cost",
           "User pools autoscale; in dev they run on Spot VMs and scale to zero.",
           "Set enableAutoScaling, minCount 0 and scaleSetPriority Spot for dev user pools.",
           (CLUSTER, AGENT_POOL), _aks_spot, "medium", params=AKS_PARAMS),
    simple("azure-machinelearningservices-compute-require-scale-to-zero", C, "cost",
           "Training clusters scale to zero, use catalogued VM sizes, stay under the node cap and use "
           "low-priority VMs in dev.",
           "Set scaleSettings.minNodeCount 0 and training.spot: true for dev.",
           (COMPUTE,), _aml, "medium", params=AKS_PARAMS),
    simple("azure-containerregistry-registry-restrict-sku", C, "cost",
           "Premium registries only where private networking needs them (not dev).",
           "Use Basic or Standard in dev.", (REGISTRY,), _acr_sku, "low",
           params={"registry_skus": {"dev": ["Basic", "Standard"], "staging": ["Basic", "Standard", "Premium"],
                                     "prod": ["Basic", "Standard", "Premium"]}}),
    simple("azure-operationalinsights-workspace-require-retention", C, "cost",
           "Log Analytics workspaces set a retention at most the environment's maximum.",
           "Set storage.log_retention_days in the spec.", (P + "operationalinsights:Workspace",),
           _log_retention, "low", params={"max_days": {"dev": 90, "staging": 365, "prod": 730}}),
    # data protection
    simple("azure-storage-storageaccount-require-tls", C, "data-protection",
           "Storage accounts accept HTTPS only with TLS 1.2+.",
           "Set enableHttpsTrafficOnly=True and minimumTlsVersion TLS1_2.", (STORAGE,), _storage_tls,
           "high", STORAGE_DOC),
    simple("azure-storage-storageaccount-deny-public-access", C, "data-protection",
           "No anonymous blob access; outside dev no public network access.",
           "Set allowBlobPublicAccess=False and publicNetworkAccess Disabled (private endpoints).",
           (STORAGE,), _storage_public, "critical", STORAGE_DOC),
    Rule("azure-storage-storageaccount-require-cmk", C, "data-protection",
         "Outside dev, storage is encrypted with the stack's Key Vault key: at account level, or with "
         "every container pinned to a Key Vault encryption scope.",
         "Set encryption.keySource Microsoft.Keyvault, or give each container defaultEncryptionScope "
         "(a Key Vault scope) with denyEncryptionScopeOverride=True.",
         "high", STORAGE_DOC, stack_check=_storage_cmk),
    simple("azure-storage-blobserviceproperties-require-soft-delete", C, "data-protection",
           "Blob services keep versions and soft-delete blobs and containers.",
           "Set isVersioningEnabled and the delete retention policies.",
           (P + "storage:BlobServiceProperties",), _blob_soft_delete, "high", STORAGE_DOC),
    simple("azure-storage-blobcontainer-deny-public-access", C, "data-protection",
           "Blob containers allow no anonymous access.", "Set publicAccess None.",
           (P + "storage:BlobContainer",), _container_public, "critical", STORAGE_DOC),
    simple("azure-keyvault-vault-require-purge-protection", C, "data-protection",
           "Key vaults keep soft delete and purge protection; outside dev they deny public access.",
           "Set properties.enablePurgeProtection=True and networkAcls.defaultAction Deny.",
           (VAULT,), _vault_protection, "high"),
    simple("azure-containerregistry-registry-deny-public-access", C, "data-protection",
           "Outside dev, registries deny public network access.",
           "Use Premium with publicNetworkAccess Disabled and a private endpoint.",
           (REGISTRY,), _acr_public, "high"),
    simple("azure-machinelearningservices-workspace-deny-public-access", C, "data-protection",
           "Outside dev, ML workspaces disable public access; prod uses customer-managed keys.",
           "Set publicNetworkAccess Disabled and encryption with the stack key.",
           (WORKSPACE,), _workspace, "high"),
    simple("azure-containerservice-managedcluster-restrict-api-access", C, "data-protection",
           "Outside dev, the AKS API server is private or limited to authorized IP ranges.",
           "Set apiServerAccessProfile.enablePrivateCluster or authorizedIPRanges.",
           (CLUSTER,), _aks_private, "high"),
    protect_rule(C, STATEFUL),
    Rule("azure-stack-endpoints-require-monitor", C, "data-protection",
         "Every online endpoint has a metric alert, query alert or monitoring schedule.",
         "Add monitor.MetricAlert on the endpoint's latency/errors.", "medium",
         stack_check=_endpoint_monitor),
    *budget_rules(C),
    *tagging_rules(C),
]
