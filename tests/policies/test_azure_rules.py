"""Each Azure rule: a compliant baseline passes, one changed property gives the exact message."""

from __future__ import annotations

import pytest

from tests.policies.helpers import DELETE, mutate, resource, run, run_stack, tags, urn

pytest.importorskip("pulumi_azure_native")

P = "azure-native:"
ASSIGNMENT = P + "authorization:RoleAssignment"
VAULT = P + "keyvault:Vault"
CLUSTER = P + "containerservice:ManagedCluster"
POOL = P + "containerservice:AgentPool"
REGISTRY = P + "containerregistry:Registry"
STORAGE = P + "storage:StorageAccount"
BLOB = P + "storage:BlobServiceProperties"
CONTAINER = P + "storage:BlobContainer"
COMPUTE = P + "machinelearningservices:Compute"
WORKSPACE = P + "machinelearningservices:Workspace"
ENDPOINT = P + "machinelearningservices:OnlineEndpoint"
LOGS = P + "operationalinsights:Workspace"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
READER_ROLE = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"

BASE = {
    ASSIGNMENT: {
        "principalId": "11111111-1111-1111-1111-111111111111",
        "principalType": "ServicePrincipal",
        "roleDefinitionId": READER_ROLE,
        "scope": f"{SUB}/resourceGroups/rg",
    },
    VAULT: {
        "properties": {
            "enableRbacAuthorization": True,
            "enablePurgeProtection": True,
            "enableSoftDelete": True,
            "publicNetworkAccess": "Disabled",
            "tenantId": "t",
            "sku": {"family": "A", "name": "standard"},
        },
        "tags": tags("azure"),
    },
    CLUSTER: {
        "disableLocalAccounts": True,
        "aadProfile": {"managed": True, "enableAzureRBAC": True},
        "apiServerAccessProfile": {"enablePrivateCluster": True},
        "agentPoolProfiles": [
            {
                "name": "system",
                "mode": "System",
                "vmSize": "Standard_D4s_v5",
                "count": 2,
                "enableAutoScaling": True,
                "minCount": 2,
                "maxCount": 4,
            }
        ],
        "sku": {"name": "Base", "tier": "Standard"},
        "tags": tags("azure"),
    },
    POOL: {
        "agentPoolName": "user",
        "mode": "User",
        "vmSize": "Standard_D2s_v5",
        "enableAutoScaling": True,
        "minCount": 0,
        "maxCount": 2,
        "count": 0,
        "scaleSetPriority": "Spot",
        "tags": tags("azure", "dev"),
    },
    REGISTRY: {
        "adminUserEnabled": False,
        "anonymousPullEnabled": False,
        "sku": {"name": "Premium"},
        "publicNetworkAccess": "Disabled",
        "tags": tags("azure"),
    },
    STORAGE: {
        "enableHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": False,
        "publicNetworkAccess": "Disabled",
        "encryption": {"keySource": "Microsoft.Keyvault", "keyVaultProperties": {"keyName": "k"}},
        "tags": tags("azure"),
    },
    BLOB: {
        "accountName": "a",
        "isVersioningEnabled": True,
        "deleteRetentionPolicy": {"enabled": True, "days": 30},
        "containerDeleteRetentionPolicy": {"enabled": True, "days": 30},
    },
    CONTAINER: {"accountName": "a", "publicAccess": "None"},
    COMPUTE: {
        "properties": {
            "computeType": "AmlCompute",
            "disableLocalAuth": True,
            "properties": {
                "vmSize": "Standard_D2s_v5",
                "vmPriority": "LowPriority",
                "remoteLoginPortPublicAccess": "Disabled",
                "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 2},
            },
        },
        "tags": tags("azure", "dev"),
    },
    WORKSPACE: {"publicNetworkAccess": "Disabled", "encryption": {"status": "Enabled"}, "tags": tags("azure")},
    ENDPOINT: {"properties": {"authMode": "AADToken"}, "tags": tags("azure")},
    LOGS: {"retentionInDays": 30, "tags": tags("azure")},
}

CASES = [
    # IAM
    (
        "azure-authorization-roleassignment-deny-privileged-roles",
        ASSIGNMENT,
        {
            "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
        },
        "role assignment grants Contributor (b24988ac-6180-42a0-ab88-20f7382dd24c); use a narrower built-in role "
        "scoped to the resource",
    ),
    (
        "azure-authorization-roleassignment-deny-privileged-roles",
        ASSIGNMENT,
        {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-A8FF-443C-A75C-2FE8C4BCB635"},
        "role assignment grants Owner (8e3af657-a8ff-443c-a75c-2fe8c4bcb635); use a narrower built-in role scoped "
        "to the resource",
    ),
    (
        "azure-authorization-roleassignment-deny-privileged-roles",
        ASSIGNMENT,
        {
            "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
        },
        "role assignment grants User Access Administrator (18d7d88d-d35e-4fb5-a5c3-7773c20a72d9); use a narrower "
        "built-in role scoped to the resource",
    ),
    (
        "azure-keyvault-vault-require-rbac",
        VAULT,
        {"properties.enableRbacAuthorization": False},
        "key vault must use Azure RBAC (properties.enableRbacAuthorization=True)",
    ),
    (
        "azure-keyvault-vault-require-rbac",
        VAULT,
        {"properties.accessPolicies": [{"objectId": "x"}]},
        "key vault has legacy access policies; grant access with RBAC role assignments",
    ),
    (
        "azure-containerservice-managedcluster-disable-local-accounts",
        CLUSTER,
        {"disableLocalAccounts": False},
        "AKS local accounts must be disabled (disableLocalAccounts=True)",
    ),
    (
        "azure-containerservice-managedcluster-require-entra-rbac",
        CLUSTER,
        {"aadProfile.enableAzureRBAC": False},
        "AKS must use Entra ID with Azure RBAC (aadProfile.managed and aadProfile.enableAzureRBAC)",
    ),
    (
        "azure-containerregistry-registry-disable-admin-user",
        REGISTRY,
        {"adminUserEnabled": True},
        "registry admin user must be disabled (adminUserEnabled=False)",
    ),
    (
        "azure-containerregistry-registry-deny-anonymous-pull",
        REGISTRY,
        {"anonymousPullEnabled": True},
        "anonymous pull must be disabled",
    ),
    (
        "azure-storage-storageaccount-disable-shared-key",
        STORAGE,
        {"allowSharedKeyAccess": DELETE},
        "storage account keys must be disabled (allowSharedKeyAccess=False); use Entra ID",
    ),
    (
        "azure-machinelearningservices-compute-disable-local-auth",
        COMPUTE,
        {"properties.disableLocalAuth": False},
        "compute must disable local auth (properties.disableLocalAuth=True)",
    ),
    (
        "azure-machinelearningservices-compute-deny-public-ssh",
        COMPUTE,
        {"properties.properties.remoteLoginPortPublicAccess": "Enabled"},
        "compute exposes SSH publicly (remoteLoginPortPublicAccess Enabled)",
    ),
    (
        "azure-machinelearningservices-onlineendpoint-deny-key-auth",
        ENDPOINT,
        {"properties.authMode": "Key"},
        "online endpoint uses static keys; use authMode AADToken or AMLToken",
    ),
    # cost
    (
        "azure-containerservice-restrict-vm-sizes",
        POOL,
        {"vmSize": "Standard_NC4as_T4_v3"},
        "pool 'user' vmSize 'Standard_NC4as_T4_v3' has 1 GPU(s), which dev stacks may not use",
    ),
    (
        "azure-containerservice-restrict-vm-sizes",
        CLUSTER,
        {"agentPoolProfiles.0.vmSize": "Standard_Z99"},
        "pool 'system' vmSize 'Standard_Z99' is not in the price catalog (infra/data/catalog.yaml); use a size "
        "class or add the SKU with its price",
    ),
    (
        "azure-containerservice-limit-node-counts",
        POOL,
        {"maxCount": 10},
        "pool 'user' maxCount 10 exceeds the dev cap of 3",
    ),
    (
        "azure-containerservice-agentpool-require-spot",
        POOL,
        {"scaleSetPriority": "Regular"},
        "user pool 'user' must use Spot VMs in dev",
    ),
    (
        "azure-containerservice-agentpool-require-scale-to-zero",
        POOL,
        {"minCount": 1},
        "user pool 'user' must scale to zero in dev (minCount 0)",
    ),
    (
        "azure-containerservice-agentpool-require-autoscale",
        POOL,
        {"enableAutoScaling": False},
        "user pool 'user' must autoscale (enableAutoScaling=True)",
    ),
    (
        "azure-machinelearningservices-compute-require-scale-to-zero",
        COMPUTE,
        {"properties.properties.scaleSettings.minNodeCount": 1},
        "training cluster must scale to zero (scaleSettings.minNodeCount 0, got 1)",
    ),
    (
        "azure-machinelearningservices-compute-require-low-priority",
        COMPUTE,
        {"properties.properties.vmPriority": "Dedicated"},
        "training cluster must use LowPriority VMs in dev",
    ),
    (
        "azure-machinelearningservices-compute-restrict-vm-sizes",
        COMPUTE,
        {"properties.properties.vmSize": "Standard_NC6s_v3"},
        "training cluster vmSize 'Standard_NC6s_v3' has 1 GPU(s), which dev stacks may not use",
    ),
    (
        "azure-machinelearningservices-compute-limit-node-count",
        COMPUTE,
        {"properties.properties.scaleSettings.maxNodeCount": 9},
        "training cluster maxNodeCount 9 exceeds the dev cap of 3",
    ),
    (
        "azure-containerregistry-registry-restrict-sku",
        REGISTRY,
        {"tags.environment": "dev"},
        "registry SKU 'Premium' is not allowed in dev (allowed: Basic, Standard)",
    ),
    (
        "azure-operationalinsights-workspace-require-retention",
        LOGS,
        {"retentionInDays": 1000},
        "retentionInDays 1000 exceeds the prod maximum of 730",
    ),
    # data protection
    (
        "azure-storage-storageaccount-require-tls",
        STORAGE,
        {"minimumTlsVersion": "TLS1_0"},
        "minimumTlsVersion must be TLS1_2 (got 'TLS1_0')",
    ),
    (
        "azure-storage-storageaccount-require-tls",
        STORAGE,
        {"enableHttpsTrafficOnly": False},
        "storage account allows HTTP (enableHttpsTrafficOnly must be True)",
    ),
    (
        "azure-storage-storageaccount-deny-public-access",
        STORAGE,
        {"allowBlobPublicAccess": True},
        "anonymous blob access must be disabled (allowBlobPublicAccess=False)",
    ),
    (
        "azure-storage-storageaccount-deny-public-network-access",
        STORAGE,
        {"publicNetworkAccess": "Enabled"},
        "prod storage accounts must deny public network access",
    ),
    (
        "azure-storage-blobserviceproperties-require-versioning",
        BLOB,
        {"isVersioningEnabled": False},
        "blob versioning must be enabled (isVersioningEnabled=True)",
    ),
    (
        "azure-storage-blobserviceproperties-require-soft-delete",
        BLOB,
        {"deleteRetentionPolicy.enabled": False},
        "blob soft delete must be enabled (deleteRetentionPolicy.enabled=True)",
    ),
    (
        "azure-storage-blobserviceproperties-require-soft-delete",
        BLOB,
        {"containerDeleteRetentionPolicy": DELETE},
        "container soft delete must be enabled (containerDeleteRetentionPolicy.enabled=True)",
    ),
    (
        "azure-storage-blobcontainer-deny-public-access",
        CONTAINER,
        {"publicAccess": "Blob"},
        "container allows anonymous access (publicAccess 'Blob')",
    ),
    (
        "azure-keyvault-vault-require-purge-protection",
        VAULT,
        {"properties.enablePurgeProtection": DELETE},
        "key vault purge protection must be enabled",
    ),
    (
        "azure-keyvault-vault-deny-public-network-access",
        VAULT,
        {"properties.publicNetworkAccess": "Enabled"},
        "prod key vaults must deny public network access",
    ),
    (
        "azure-containerregistry-registry-deny-public-access",
        REGISTRY,
        {"publicNetworkAccess": "Enabled"},
        "prod registries must deny public network access",
    ),
    (
        "azure-machinelearningservices-workspace-deny-public-access",
        WORKSPACE,
        {"publicNetworkAccess": "Enabled"},
        "prod ML workspaces must disable public network access",
    ),
    (
        "azure-machinelearningservices-workspace-require-cmk",
        WORKSPACE,
        {"encryption": DELETE},
        "prod ML workspaces must use customer-managed key encryption (encryption.status Enabled)",
    ),
    (
        "azure-containerservice-managedcluster-restrict-api-access",
        CLUSTER,
        {"apiServerAccessProfile": DELETE},
        "prod AKS API servers must be private or restricted to authorized IP ranges",
    ),
    # tagging
    ("azure-all-resources-require-tags", STORAGE, {"tags.cost-center": DELETE}, "missing required tags: cost-center"),
    (
        "azure-all-resources-validate-tag-values",
        STORAGE,
        {"tags.a/b": "x"},
        "tag 'a/b': names may not contain < > % & \\ ? /",
    ),
    (
        "azure-all-resources-validate-tag-values",
        STORAGE,
        {"tags." + "k" * 129: "x"},
        f"tag {'k' * 129!r}: names are 1-128 and values at most 256 characters",
    ),
]


@pytest.mark.parametrize("rule, type_", sorted({(c[0], c[1]) for c in CASES}))
def test_baseline_passes(rule, type_):
    assert run(rule, type_, BASE[type_]) == [], f"{rule} on the compliant {type_}"


@pytest.mark.parametrize("rule, type_, changes, message", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_violation_caught(rule, type_, changes, message):
    assert run(rule, type_, mutate(BASE[type_], changes)) == [message]


def test_system_pools_may_be_on_demand_with_nodes():
    system = mutate(BASE[POOL], {"mode": "System", "scaleSetPriority": DELETE, "minCount": 1})
    for rule in (
        "azure-containerservice-agentpool-require-spot",
        "azure-containerservice-agentpool-require-scale-to-zero",
    ):
        assert run(rule, POOL, system) == []


def test_dev_stores_may_use_public_network_and_platform_keys():
    dev = mutate(
        BASE[STORAGE],
        {"tags.environment": "dev", "publicNetworkAccess": "Enabled", "encryption.keySource": "Microsoft.Storage"},
    )
    assert run("azure-storage-storageaccount-deny-public-network-access", STORAGE, dev) == []


def _cmk_stack(key_source="Microsoft.Storage", scope_source="Microsoft.KeyVault", pinned=True, env="prod"):
    account = resource(
        STORAGE,
        "account",
        mutate(BASE[STORAGE], {"accountName": "lake", "encryption.keySource": key_source, "tags.environment": env}),
    )
    scope = resource(
        P + "storage:EncryptionScope",
        "scope",
        {"accountName": "lake", "encryptionScopeName": "cmk", "source": scope_source},
    )
    container = resource(
        CONTAINER,
        "data",
        {
            "accountName": "lake",
            "publicAccess": "None",
            "defaultEncryptionScope": "cmk" if pinned else None,
            "denyEncryptionScopeOverride": pinned,
        },
        {"accountName": ["account"]},
    )
    return [account, scope, container]


CMK_MESSAGE = (
    "prod storage must be encrypted with the stack's Key Vault key: set encryption.keySource "
    "Microsoft.Keyvault, or pin every container to a Key Vault encryption scope"
)


def test_storage_cmk_at_account_level_or_by_scopes():
    rule = "azure-storage-storageaccount-require-cmk"
    assert run_stack(rule, _cmk_stack(key_source="Microsoft.Keyvault", pinned=False)) == []
    assert run_stack(rule, _cmk_stack()) == []
    assert run_stack(rule, _cmk_stack(pinned=False)) == [(CMK_MESSAGE, urn(STORAGE, "account"))]
    assert run_stack(rule, _cmk_stack(scope_source="Microsoft.Storage")) == [(CMK_MESSAGE, urn(STORAGE, "account"))]
    assert run_stack(rule, _cmk_stack(pinned=False, env="dev")) == []
