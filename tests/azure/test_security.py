"""Security-relevant inputs: TLS, public access, keys, RBAC, local accounts, role grants."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi_azure_native")

from infra.azure import roles  # noqa: E402
from infra.azure.pipeline import CODE_CONTAINERS  # noqa: E402
from infra.azure.retraining import HOST_CONTAINERS  # noqa: E402
from tests.azure.helpers import STACKS, by_name, of, one  # noqa: E402


def lake(plan):
    return one(plan, "storage:StorageAccount", "datalake-account")


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(
    "key,expected",
    [
        ("enableHttpsTrafficOnly", True),
        ("minimumTlsVersion", "TLS1_2"),
        ("allowBlobPublicAccess", False),
        ("allowSharedKeyAccess", False),
        ("kind", "StorageV2"),
        ("allowCrossTenantReplication", False),
    ],
)
def test_data_lake_account_setting(plan_for, stack, key, expected):
    r = lake(plan_for(stack))
    assert r.inputs[key] == expected, f"{r.urn}: {key}={r.inputs.get(key)!r}"


@pytest.mark.parametrize("stack", STACKS)
def test_all_storage_accounts_are_tls_only_without_keys(plan_for, stack):
    for r in of(plan_for(stack), "storage:StorageAccount"):
        assert (
            r.inputs["minimumTlsVersion"],
            r.inputs["enableHttpsTrafficOnly"],
            r.inputs["allowSharedKeyAccess"],
            r.inputs["allowBlobPublicAccess"],
        ) == ("TLS1_2", True, False, False), r.urn
        assert r.inputs["encryption"]["requireInfrastructureEncryption"] is True, r.urn


@pytest.mark.parametrize("stack", STACKS)
def test_blob_versioning_and_soft_delete(plan_for, stack):
    r = one(plan_for(stack), "storage:BlobServiceProperties")
    assert r.inputs["isVersioningEnabled"] is True, r.urn
    assert r.inputs["deleteRetentionPolicy"]["enabled"] is True, r.urn
    assert r.inputs["containerDeleteRetentionPolicy"]["enabled"] is True, r.urn


@pytest.mark.parametrize("stack", STACKS)
def test_containers_are_private(plan_for, stack):
    containers = [r for r in of(plan_for(stack), "storage:BlobContainer") if r.name.startswith("datalake-")]
    assert {r.inputs["containerName"] for r in containers} == {"data", "artifacts", "monitoring"}
    for r in containers:
        assert r.inputs["publicAccess"] == "None", r.urn


def test_lifecycle_rules_follow_the_spec(plan_for):
    r = by_name(plan_for("azure-prod"), "datalake-lifecycle")
    rules = {rule["name"]: rule["definition"]["actions"] for rule in r.inputs["policy"]["rules"]}
    base = rules["tier-and-expire"]["baseBlob"]
    assert base["tierToCool"]["daysAfterModificationGreaterThan"] == 30, r.urn
    # archive_after_days moves blobs to the (online) cold tier: Archive is offline and not on ZRS.
    assert base["tierToCold"]["daysAfterModificationGreaterThan"] == 180, r.urn
    assert "tierToArchive" not in base, r.urn
    assert rules["noncurrent-versions"]["version"]["delete"]["daysAfterCreationGreaterThan"] == 90, r.urn


def test_cmk_scope_encrypts_lake_containers_in_prod(plan_for):
    plan = plan_for("azure-prod")
    scope = by_name(plan, "datalake-cmk-scope")
    key = by_name(plan, "secrets-datalake-cmk")
    assert scope.inputs["source"] == "Microsoft.KeyVault", scope.urn
    assert scope.inputs["keyVaultProperties"]["keyUri"] == key.outputs["keyUri"], scope.urn
    containers = of(plan, "storage:BlobContainer")
    assert len(containers) == 3 + len(HOST_CONTAINERS) + len(CODE_CONTAINERS)  # lake, function host, code
    assert {s.inputs["keyVaultProperties"]["keyUri"] for s in of(plan, "storage:EncryptionScope")} == {
        key.outputs["keyUri"]
    }
    for c in containers:
        assert c.inputs["defaultEncryptionScope"] == "cmk" and c.inputs["denyEncryptionScopeOverride"], c.urn


def test_prod_workspace_uses_its_own_customer_managed_key(plan_for):
    plan = plan_for("azure-prod")
    ws = one(plan, "machinelearningservices:Workspace")
    key = by_name(plan, "secrets-workspace-cmk")
    assert ws.inputs["encryption"]["status"] == "Enabled", ws.urn
    assert ws.inputs["encryption"]["keyVaultProperties"] == {
        "keyVaultArmId": one(plan, "keyvault:Vault").outputs["id"],
        "keyIdentifier": key.outputs["keyUriWithVersion"],
    }


def test_retraining_function_owns_only_its_host_containers(plan_for):
    plan = plan_for("azure-prod")
    app = one(plan, "web:WebApp")
    grants = [
        r
        for r in of(plan, "authorization:RoleAssignment")
        if r.inputs["principalId"] == app.outputs["identity"]["principalId"]
        and r.inputs["roleDefinitionId"].endswith(roles.STORAGE_BLOB_DATA_OWNER)
    ]
    assert len(grants) == len(HOST_CONTAINERS)
    for g in grants:
        assert "/blobServices/default/containers/" in g.inputs["scope"], g.urn


def test_cmk_unwrap_role_is_scoped_to_the_key(plan_for):
    plan = plan_for("azure-prod")
    grant = by_name(plan, "datalake-cmk-unwrap")
    assert grant.inputs["scope"] == by_name(plan, "secrets-datalake-cmk").outputs["id"], grant.urn
    assert grant.inputs["roleDefinitionId"].endswith(roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER), grant.urn
    assert grant.inputs["principalId"] == lake(plan).outputs["identity"]["principalId"], grant.urn


def test_dev_has_no_cmk(plan_for):
    assert of(plan_for("azure-dev"), "storage:EncryptionScope") == []


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(
    "key,expected",
    [
        ("enableRbacAuthorization", True),
        ("enableSoftDelete", True),
        ("enablePurgeProtection", True),
        ("enabledForTemplateDeployment", False),
    ],
)
def test_key_vault_setting(plan_for, stack, key, expected):
    r = one(plan_for(stack), "keyvault:Vault")
    assert r.inputs["properties"][key] == expected, f"{r.urn}: {key}"


def test_key_vault_tenant_comes_from_client_config(plan_for):
    r = one(plan_for("azure-dev"), "keyvault:Vault")
    assert r.inputs["properties"]["tenantId"] == "11111111-1111-1111-1111-111111111111", r.urn


@pytest.mark.parametrize("stack", ["azure-staging", "azure-prod"])
def test_private_stacks_close_public_endpoints(plan_for, stack):
    plan = plan_for(stack)
    vault = one(plan, "keyvault:Vault")
    assert vault.inputs["properties"]["publicNetworkAccess"] == "Disabled", vault.urn
    assert vault.inputs["properties"]["networkAcls"]["defaultAction"] == "Deny", vault.urn
    assert lake(plan).inputs["publicNetworkAccess"] == "Disabled", lake(plan).urn
    ws = one(plan, "machinelearningservices:Workspace")
    assert ws.inputs["publicNetworkAccess"] == "Disabled", ws.urn
    assert one(plan, "containerservice:ManagedCluster").inputs["apiServerAccessProfile"]["enablePrivateCluster"]


def test_dev_is_public(plan_for):
    plan = plan_for("azure-dev")
    assert one(plan, "machinelearningservices:Workspace").inputs["publicNetworkAccess"] == "Enabled"
    assert of(plan, "network:PrivateEndpoint") == []


def test_private_endpoints_cover_vault_storage_workspace_and_prod_registry(plan_for):
    groups = {
        r.inputs["privateLinkServiceConnections"][0]["groupIds"][0]
        for r in of(plan_for("azure-prod"), "network:PrivateEndpoint")
    }
    assert groups == {"vault", "blob", "file", "amlworkspace", "registry"}
    staging = {
        r.inputs["privateLinkServiceConnections"][0]["groupIds"][0]
        for r in of(plan_for("azure-staging"), "network:PrivateEndpoint")
    }
    assert staging == groups


@pytest.mark.parametrize(
    "stack,sku,public",
    [
        ("azure-dev", "Basic", "Enabled"),
        ("azure-staging", "Premium", "Disabled"),
        ("azure-prod", "Premium", "Disabled"),
    ],
)
def test_registry_sku_and_public_access(plan_for, stack, sku, public):
    r = one(plan_for(stack), "containerregistry:Registry")
    assert r.inputs["sku"]["name"] == sku and r.inputs["publicNetworkAccess"] == public, r.urn
    assert r.inputs["adminUserEnabled"] is False, r.urn


@pytest.mark.parametrize("stack", STACKS)
def test_aks_identity_and_entra_rbac(plan_for, stack):
    plan = plan_for(stack)
    r = one(plan, "containerservice:ManagedCluster")
    control_plane = by_name(plan, "kubernetes-control-plane")
    assert r.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [control_plane.outputs["id"]]}, (
        r.urn
    )
    assert r.inputs["aadProfile"] == {"managed": True, "enableAzureRBAC": True}, r.urn
    assert r.inputs["disableLocalAccounts"] is True, r.urn
    assert r.inputs["networkProfile"]["networkPolicy"] in ("azure", "calico"), r.urn
    assert r.inputs["networkProfile"]["networkPlugin"] == "azure", r.urn


@pytest.mark.parametrize("stack", STACKS)
def test_aks_monitoring_addon_sends_to_log_analytics(plan_for, stack):
    plan = plan_for(stack)
    r = one(plan, "containerservice:ManagedCluster")
    oms = r.inputs["addonProfiles"]["omsagent"]
    assert (
        oms["enabled"]
        and oms["config"]["logAnalyticsWorkspaceResourceID"] == one(plan, "operationalinsights:Workspace").outputs["id"]
    ), r.urn


@pytest.mark.parametrize("stack", STACKS)
def test_workspace_identity_and_links(plan_for, stack):
    plan = plan_for(stack)
    ws = one(plan, "machinelearningservices:Workspace")
    assert ws.inputs["identity"]["type"] == "SystemAssigned", ws.urn
    assert ws.inputs["storageAccount"] == lake(plan).outputs["id"], ws.urn
    assert ws.inputs["keyVault"] == one(plan, "keyvault:Vault").outputs["id"], ws.urn
    assert ws.inputs["applicationInsights"] == one(plan, "applicationinsights:Component").outputs["id"], ws.urn
    assert ws.inputs["containerRegistry"] == one(plan, "containerregistry:Registry").outputs["id"], ws.urn
    assert ws.inputs["systemDatastoresAuthMode"] == "Identity", ws.urn


@pytest.mark.parametrize("stack", STACKS)
def test_datastores_hold_no_credentials(plan_for, stack):
    for r in of(plan_for(stack), "machinelearningservices:Datastore"):
        assert r.inputs["properties"]["credentials"] == {"credentialsType": "None"}, r.urn


def _assignments(plan):
    """Workload and people grants (the CI identities' grants are tested in test_ci_identity.py)."""
    return [r for r in of(plan, "authorization:RoleAssignment") if "mlops:azure:CiIdentity$" not in r.urn]


@pytest.mark.parametrize("stack", STACKS)
def test_no_owner_contributor_or_access_admin_is_granted(plan_for, stack):
    for r in _assignments(plan_for(stack)):
        guid = r.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        assert guid not in roles.FORBIDDEN, f"{r.urn} grants {roles.FORBIDDEN.get(guid)}"
        assert guid in roles.NAMES, f"{r.urn} grants an unlisted role {guid}"


@pytest.mark.parametrize("stack", STACKS)
def test_role_assignments_are_scoped_to_single_resources(plan_for, stack):
    plan = plan_for(stack)
    rg_id = one(plan, "resources:ResourceGroup").outputs["id"]
    for r in _assignments(plan):
        scope = r.inputs["scope"]
        assert scope.startswith(rg_id + "/providers/"), f"{r.urn} scope {scope}"
        assert r.inputs["roleDefinitionId"].startswith(
            "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/"
        )


def test_kubelet_gets_acr_pull_on_the_registry(plan_for):
    plan = plan_for("azure-dev")
    r = by_name(plan, "access-aks-kubelet-acr")
    cluster = one(plan, "containerservice:ManagedCluster")
    assert r.inputs["principalId"] == cluster.outputs["identityProfile"]["kubeletidentity"]["objectId"], r.urn
    assert r.inputs["roleDefinitionId"].endswith(roles.ACR_PULL), r.urn
    assert r.inputs["scope"] == one(plan, "containerregistry:Registry").outputs["id"], r.urn
    assert r.inputs["principalType"] == "ServicePrincipal", r.urn


@pytest.mark.parametrize(
    "grant,role,target",
    [
        ("access-workspace-vault", roles.KEY_VAULT_SECRETS_OFFICER, "keyvault:Vault"),
    ],
)
def test_workspace_identity_grants(plan_for, grant, role, target):
    plan = plan_for("azure-dev")
    r = by_name(plan, grant)
    ws = one(plan, "machinelearningservices:Workspace")
    scope = lake(plan) if target == "storage:StorageAccount" else one(plan, target)
    assert r.inputs["principalId"] == ws.outputs["identity"]["principalId"], r.urn
    assert r.inputs["roleDefinitionId"].endswith(role) and r.inputs["scope"] == scope.outputs["id"], r.urn


def test_data_scientists_get_azureml_data_scientist_as_users(plan_for):
    plan = plan_for("azure-dev")
    r = by_name(plan, "access-ds-bob-workspace")
    assert r.inputs["principalId"] == "2f6d1c8e-9a4b-4c1e-8f3a-7b5d2e9c0a11", r.urn
    assert r.inputs["principalType"] == "User", r.urn
    assert r.inputs["roleDefinitionId"].endswith(roles.AZUREML_DATA_SCIENTIST), r.urn
    assert r.inputs["scope"] == one(plan, "machinelearningservices:Workspace").outputs["id"], r.urn


def test_training_cluster_settings(plan_for):
    dev = one(plan_for("azure-dev"), "machinelearningservices:Compute", "workspace-training")
    props = dev.inputs["properties"]
    assert props["computeType"] == "AmlCompute", dev.urn
    scale = props["properties"]["scaleSettings"]
    assert (scale["minNodeCount"], scale["maxNodeCount"], scale["nodeIdleTimeBeforeScaleDown"]) == (0, 2, "PT10M")
    assert props["properties"]["vmPriority"] == "LowPriority", dev.urn
    assert props["properties"]["vmSize"] == "Standard_D2s_v5", dev.urn
    prod = one(plan_for("azure-prod"), "machinelearningservices:Compute", "workspace-training")
    assert prod.inputs["properties"]["properties"]["vmPriority"] == "Dedicated", prod.urn
    assert prod.inputs["properties"]["properties"]["vmSize"] == "Standard_D8s_v5", prod.urn
