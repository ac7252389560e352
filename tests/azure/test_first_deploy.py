"""What a fresh subscription's first `pulumi up` needs from the plan: the order of grants and
resources, settings Azure requires at creation, and combinations Azure does not support."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("pulumi_azure_native")

from infra import stackfile  # noqa: E402
from infra.azure import roles  # noqa: E402
from infra.azure.ci_identity import rbac_condition  # noqa: E402
from infra.spec import Spec, SpecRuleError  # noqa: E402
from infra.spec.model import COSMOS_DB_APP_ID  # noqa: E402
from tests.azure.helpers import STACKS, by_name, of, one  # noqa: E402


def spec_problems(stack: str, change) -> list[tuple[tuple, str]]:
    raw = copy.deepcopy(stackfile.load(stack).raw_spec)
    change(raw)
    with pytest.raises(Exception) as caught:
        Spec.model_validate(raw)
    cause = caught.value
    errors = cause.errors() if hasattr(cause, "errors") else []
    rule_errors = [e.get("ctx", {}).get("error") for e in errors]
    problems = [p for err in rule_errors if isinstance(err, SpecRuleError) for p in err.problems]
    return problems


def grants_to(plan, principal_id: str) -> list:
    return [r for r in of(plan, "authorization:RoleAssignment") if r.inputs["principalId"] == principal_id]


# 1. Workspace customer-managed key: Cosmos DB key access first.
@pytest.mark.parametrize("stack", ["azure-staging", "azure-prod"])
def test_cmk_workspace_waits_for_cosmos_db_key_access(plan_for, stack):
    plan = plan_for(stack)
    ws = one(plan, "machinelearningservices:Workspace")
    grant = by_name(plan, "workspace-cosmos-db-key")
    key = by_name(plan, "secrets-workspace-cmk")
    assert grant.inputs["principalId"] == stackfile.load(stack).spec.azure.cosmos_db_object_id, grant.urn
    assert grant.inputs["roleDefinitionId"].endswith(roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER), grant.urn
    assert grant.inputs["scope"] == key.outputs["id"], grant.urn
    assert grant.urn in ws.dependencies, ws.urn


def test_cmk_without_the_cosmos_db_object_id_is_refused():
    def drop(raw):
        raw.pop("azure")

    problems = spec_problems("azure-prod", drop)
    assert any(path == ("azure", "cosmos_db_object_id") and COSMOS_DB_APP_ID in msg for path, msg in problems)


# 2. No managed virtual network next to Kubernetes compute; own VNet for training instead.
@pytest.mark.parametrize("stack", ["azure-staging", "azure-prod"])
def test_private_workspace_with_kubernetes_has_no_managed_network(plan_for, stack):
    plan = plan_for(stack)
    ws = one(plan, "machinelearningservices:Workspace")
    assert ws.inputs["managedNetwork"] == {"isolationMode": "Disabled"}, ws.urn
    training = one(plan, "machinelearningservices:Compute", "workspace-training")
    vnet = one(plan, "network:VirtualNetwork")
    props = training.inputs["properties"]["properties"]
    assert props["subnet"] == {"id": f"{vnet.outputs['id']}/subnets/training"}, training.urn
    assert props["enableNodePublicIp"] is False, training.urn
    assert "training" in {s["name"] for s in vnet.inputs["subnets"]}, vnet.urn


# 3. The ML extension installs on a fresh cluster.
def test_extension_gets_its_certificate_as_protected_settings(plan_for):
    plan = plan_for("azure-prod")
    ext = one(plan, "kubernetesconfiguration:Extension")
    settings = ext.inputs["configurationSettings"]
    assert "sslSecret" not in settings, ext.urn
    assert settings["sslCname"] == "churn-prod.ml.example.internal", ext.urn
    assert settings["allowInsecureConnections"] == "False", ext.urn
    assert set(ext.inputs["configurationProtectedSettings"]) == {"sslCertPemFile", "sslKeyPemFile"}, ext.urn


@pytest.mark.parametrize("stack,ha", [("azure-staging", "False"), ("azure-prod", "True")])
def test_router_ha_only_with_three_nodes(plan_for, stack, ha):
    ext = one(plan_for(stack), "kubernetesconfiguration:Extension")
    assert ext.inputs["configurationSettings"]["inferenceRouterHA"] == ha, ext.urn


def test_day_zero_installs_training_only(plan_variant):
    ext = one(plan_variant("azure-dev", "day-0"), "kubernetesconfiguration:Extension")
    assert ext.inputs["configurationSettings"]["enableInference"] == "False", ext.urn
    assert "configurationProtectedSettings" not in ext.inputs, ext.urn


def test_dev_system_node_meets_the_extension_minimum(plan_for):
    cluster = one(plan_for("azure-dev"), "containerservice:ManagedCluster")
    assert cluster.inputs["agentPoolProfiles"][0]["vmSize"] == "Standard_D4s_v5", cluster.urn


def test_too_small_cluster_is_refused():
    def shrink(raw):
        raw["kubernetes"] = {"system_pool": {"size_class": "cpu-small", "min_nodes": 1, "max_nodes": 2}}

    problems = spec_problems("azure-dev", shrink)
    assert [p for p, _ in problems] == [("kubernetes", "system_pool", "min_nodes")]


def test_serving_without_a_scoring_hostname_is_refused():
    def drop(raw):
        raw["azure"].pop("scoring_hostname")

    problems = spec_problems("azure-staging", drop)
    assert [p for p, _ in problems] == [("azure", "scoring_hostname")]


def test_spot_user_pool_is_refused_on_azure():
    def spot(raw):
        raw["kubernetes"] = {"user_pool": {"spot": True}}

    problems = spec_problems("azure-dev", spot)
    assert [p for p, _ in problems] == [("kubernetes", "user_pool", "spot")]


# 4. The control plane may use the subnet before the cluster exists.
@pytest.mark.parametrize("stack", ["azure-staging", "azure-prod"])
def test_control_plane_is_network_contributor_on_the_subnet_first(plan_for, stack):
    plan = plan_for(stack)
    identity = by_name(plan, "kubernetes-control-plane")
    grant = by_name(plan, "kubernetes-control-plane-subnet")
    cluster = one(plan, "containerservice:ManagedCluster")
    assert grant.inputs["principalId"] == identity.outputs["principalId"], grant.urn
    assert grant.inputs["roleDefinitionId"].endswith(roles.NETWORK_CONTRIBUTOR), grant.urn
    assert grant.inputs["scope"] == cluster.inputs["agentPoolProfiles"][0]["vnetSubnetID"], grant.urn
    assert grant.urn in cluster.dependencies, cluster.urn


def test_ci_deploy_identity_may_grant_network_contributor():
    assert roles.NETWORK_CONTRIBUTOR in rbac_condition(list(roles.NAMES), "deploy")


# 7. No second copy of the role assignments Azure ML makes itself.
@pytest.mark.parametrize("stack", STACKS)
def test_no_duplicate_of_azure_ml_implicit_assignments(plan_for, stack):
    plan = plan_for(stack)
    ws = one(plan, "machinelearningservices:Workspace")
    lake = one(plan, "storage:StorageAccount", "datalake-account").outputs["id"]
    registry = one(plan, "containerregistry:Registry").outputs["id"]

    def pairs(principal):
        return {
            (g.inputs["roleDefinitionId"].rsplit("/", 1)[-1], g.inputs["scope"]) for g in grants_to(plan, principal)
        }

    implicit_workspace = {
        (roles.STORAGE_BLOB_DATA_CONTRIBUTOR, lake),
        (roles.STORAGE_FILE_DATA_PRIVILEGED_CONTRIBUTOR, lake),
    }
    assert not pairs(ws.outputs["identity"]["principalId"]) & implicit_workspace
    for ep in of(plan, "machinelearningservices:OnlineEndpoint"):
        implicit_endpoint = {(roles.ACR_PULL, registry), (roles.STORAGE_BLOB_DATA_READER, lake)}
        assert not pairs(ep.outputs["identity"]["principalId"]) & implicit_endpoint, ep.urn


# 9. The monitor runs as its own identity with data access.
def test_monitor_runs_as_a_user_assigned_identity_with_blob_access(plan_for):
    plan = plan_for("azure-prod")
    schedule = one(plan, "machinelearningservices:Schedule")
    identity = by_name(plan, "monitoring-monitor-identity")
    compute = schedule.inputs["properties"]["action"]["monitorDefinition"]["computeConfiguration"]
    assert compute["computeIdentity"] == {
        "computeIdentityType": "ManagedIdentity",
        "identity": {"type": "UserAssigned", "userAssignedIdentities": [identity.outputs["id"]]},
    }, schedule.urn
    grant = by_name(plan, "monitoring-monitor-lake")
    assert grant.inputs["principalId"] == identity.outputs["principalId"], grant.urn
    assert grant.inputs["roleDefinitionId"].endswith(roles.STORAGE_BLOB_DATA_CONTRIBUTOR), grant.urn
    assert grant.inputs["scope"] == one(plan, "storage:StorageAccount", "datalake-account").outputs["id"]
    assert grant.urn in schedule.dependencies, schedule.urn


# 10. Private registry: images are built on the training cluster.
@pytest.mark.parametrize(
    "stack,compute", [("azure-dev", None), ("azure-staging", "training"), ("azure-prod", "training")]
)
def test_image_build_compute_in_private_stacks(plan_for, stack, compute):
    ws = one(plan_for(stack), "machinelearningservices:Workspace")
    assert ws.inputs.get("imageBuildCompute") == compute, ws.urn


# 13. The function's host storage is its own account.
def test_function_host_storage_is_a_separate_account(plan_for):
    plan = plan_for("azure-prod")
    lake = one(plan, "storage:StorageAccount", "datalake-account")
    host = one(plan, "storage:StorageAccount", "retraining-host")
    app = one(plan, "web:WebApp")
    code = one(plan, "storage:StorageAccount", "pipeline-code")
    package = app.inputs["functionAppConfig"]["deployment"]["storage"]["value"]
    assert package == code.outputs["primaryEndpoints"]["blob"] + "function", app.urn
    settings = {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}
    assert settings["AzureWebJobsStorage__blobServiceUri"] == host.outputs["primaryEndpoints"]["blob"], app.urn
    for c in of(plan, "storage:BlobContainer"):
        if c.name.startswith("retraining-"):
            assert c.inputs["accountName"] == host.outputs["name"] != lake.outputs["name"], c.urn
    assert "blob" in {
        r.inputs["privateLinkServiceConnections"][0]["groupIds"][0]
        for r in of(plan, "network:PrivateEndpoint")
        if r.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"] == host.outputs["id"]
    }


# 15. Pools on one subnet one after the other.
def test_node_pools_on_one_subnet_are_chained(plan_for):
    plan = plan_for("azure-prod")
    user, gpu = by_name(plan, "kubernetes-user-pool"), by_name(plan, "kubernetes-gpu-pool")
    assert user.inputs["vnetSubnetID"] == gpu.inputs["vnetSubnetID"]
    assert user.urn in gpu.dependencies, gpu.urn


# 17. Container Insights, instance types, re-creatable dev vault.
@pytest.mark.parametrize("stack", STACKS)
def test_container_insights_has_its_data_collection_rule(plan_for, stack):
    plan = plan_for(stack)
    rule = one(plan, "monitor:DataCollectionRule")
    assoc = one(plan, "monitor:DataCollectionRuleAssociation")
    cluster = one(plan, "containerservice:ManagedCluster")
    assert assoc.inputs["resourceUri"] == cluster.outputs["id"], assoc.urn
    assert assoc.inputs["dataCollectionRuleId"] == rule.outputs["id"], assoc.urn
    assert (
        rule.inputs["destinations"]["logAnalytics"][0]["workspaceResourceId"]
        == one(plan, "operationalinsights:Workspace").outputs["id"]
    ), rule.urn


def test_gpu_pool_has_an_instance_type(plan_for):
    plan = plan_for("azure-prod")
    compute = one(plan, "machinelearningservices:Compute", "kubernetes-compute")
    types = compute.inputs["properties"]["properties"]["instanceTypes"]
    assert types["gpu"]["nodeSelector"] == {"mlops/pool": "gpu"}, compute.urn
    assert types["gpu"]["resources"]["limits"]["nvidia.com/gpu"] == "1", compute.urn
    assert types["defaultinstancetype"]["nodeSelector"] == {"mlops/pool": "user"}, compute.urn


def test_dev_vault_name_is_held_for_the_minimum_only(plan_for):
    dev = one(plan_for("azure-dev"), "keyvault:Vault").inputs["properties"]
    prod = one(plan_for("azure-prod"), "keyvault:Vault").inputs["properties"]
    assert (dev["softDeleteRetentionInDays"], dev["enablePurgeProtection"]) == (7, True)
    assert prod["softDeleteRetentionInDays"] == 90


# 18. Checkov findings on the prod plan.
@pytest.mark.parametrize("stack", STACKS)
def test_cluster_rotates_csi_secrets_and_encrypts_at_host(plan_for, stack):
    plan = plan_for(stack)
    cluster = one(plan, "containerservice:ManagedCluster")
    csi = cluster.inputs["addonProfiles"]["azureKeyvaultSecretsProvider"]
    assert csi["enabled"] and csi["config"]["enableSecretRotation"] == "true", cluster.urn
    pools = cluster.inputs["agentPoolProfiles"] + [r.inputs for r in of(plan, "containerservice:AgentPool")]
    assert all(p["enableEncryptionAtHost"] is True for p in pools), cluster.urn


@pytest.mark.parametrize("stack", ["azure-staging", "azure-prod"])
def test_private_storage_accounts_deny_by_default(plan_for, stack):
    for account in of(plan_for(stack), "storage:StorageAccount"):
        assert account.inputs["networkRuleSet"]["defaultAction"] == "Deny", account.urn


# 6. The stack uploads the code and registers the pipeline and reference data it runs on.
@pytest.mark.parametrize("stack", STACKS)
def test_workload_code_is_uploaded_content_addressed_and_registered(plan_for, stack):
    from infra import code_assets

    plan = plan_for(stack)
    bundle = code_assets.bundle(stackfile.load(stack).spec.training.workload)
    blobs = {r.inputs["blobName"]: r for r in of(plan, "storage:Blob") if r.inputs["containerName"] == "workload"}
    assert set(blobs) == {f"{bundle.short_hash}/{path}" for path in bundle.files}
    code = one(plan, "machinelearningservices:CodeVersion")
    account = one(plan, "storage:StorageAccount", "pipeline-code")
    assert code.inputs["version"] == bundle.short_hash, code.urn
    assert (
        code.inputs["properties"]["codeUri"]
        == f"{account.outputs['primaryEndpoints']['blob']}workload/{bundle.short_hash}/"
    ), code.urn


@pytest.mark.parametrize("stack", STACKS)
def test_retraining_pipeline_component_runs_the_uploaded_workload(plan_for, stack):
    plan = plan_for(stack)
    model = stackfile.load(stack).spec.serving.model_name or "model"
    versions = {r.inputs["name"]: r for r in of(plan, "machinelearningservices:ComponentVersion")}
    train, pipeline = versions[f"retrain-{model}-train"], versions[f"retrain-{model}"]
    spec = train.inputs["properties"]["componentSpec"]
    assert spec["code"] == one(plan, "machinelearningservices:CodeVersion").outputs["id"], train.urn
    assert spec["command"].startswith("python -m mlops_workload train"), train.urn
    jobs = pipeline.inputs["properties"]["componentSpec"]["jobs"]
    assert jobs["train"]["component"] == f"azureml:retrain-{model}-train:{train.inputs['version']}"
    assert pipeline.inputs["properties"]["componentSpec"]["outputs"]["model"]["type"] == "custom_model"


def test_function_runs_the_component_the_stack_registers(plan_for):
    plan = plan_for("azure-prod")
    app = one(plan, "web:WebApp")
    settings = {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}
    names = {r.inputs["name"] for r in of(plan, "machinelearningservices:ComponentContainer")}
    assert settings["RETRAIN_PIPELINE_COMPONENT"] == "azureml:retrain-churn-model@latest"
    assert "retrain-churn-model" in names
    package = by_name(plan, "pipeline-function-package")
    assert package.urn in app.dependencies, app.urn
    sub = one(plan, "eventgrid:SystemTopicEventSubscription")
    assert package.urn in sub.dependencies, sub.urn


def test_monitor_compares_with_the_served_versions_reference_table(plan_for):
    plan = plan_for("azure-prod")
    data = by_name(plan, "pipeline-reference-version")
    assert data.inputs["version"] == "7" and data.inputs["properties"]["dataType"] == "mltable", data.urn
    table = by_name(plan, "pipeline-reference-mltable")
    assert table.inputs["blobName"] == "reference/churn-model/7/MLTable", table.urn
    signal = one(plan, "machinelearningservices:Schedule").inputs["properties"]["action"]["monitorDefinition"][
        "signals"
    ]["data-drift"]
    assert signal["referenceData"]["uri"] == "azureml:churn-model-reference:7"


def test_day_zero_has_the_pipeline_but_no_reference_data(plan_variant):
    plan = plan_variant("azure-staging", "day-0")
    assert of(plan, "machinelearningservices:ComponentVersion")
    assert of(plan, "machinelearningservices:DataVersion") == []


# 8. Collected-data assets exist and the deployment names them.
def test_collections_write_to_data_assets_the_stack_creates(plan_for):
    plan = plan_for("azure-prod")
    deployment = one(plan, "machinelearningservices:OnlineDeployment")
    endpoint = one(plan, "machinelearningservices:OnlineEndpoint")
    collections = deployment.inputs["properties"]["dataCollector"]["collections"]
    for name in ("model_inputs", "model_outputs"):
        data = by_name(plan, f"serving-collected-{name}-version")
        assert collections[name]["dataId"] == data.outputs["id"], deployment.urn
        assert data.inputs["name"] == f"{endpoint.inputs['endpointName']}-blue-{name}", data.urn
        assert data.inputs["properties"]["dataUri"].endswith(
            f"/modelDataCollector/{endpoint.inputs['endpointName']}/blue/{name}/"
        ), data.urn
    signal = one(plan, "machinelearningservices:Schedule").inputs["properties"]["action"]["monitorDefinition"][
        "signals"
    ]["data-drift"]
    assert signal["productionData"]["uri"] == f"azureml:{endpoint.inputs['endpointName']}-blue-model_inputs:1"


def test_deployment_serves_the_registered_version_with_the_reference_scoring_script(plan_for):
    plan = plan_for("azure-staging")
    deployment = one(plan, "machinelearningservices:OnlineDeployment")
    props = deployment.inputs["properties"]
    ws = one(plan, "machinelearningservices:Workspace")
    assert props["model"] == f"{ws.outputs['id']}/models/churn-model/versions/7", deployment.urn
    assert of(plan, "machinelearningservices:ModelContainer") == []  # created by the first registering run
    assert props["codeConfiguration"] == {
        "codeId": one(plan, "machinelearningservices:CodeVersion").outputs["id"],
        "scoringScript": "mlops_workload/serving/azureml_score.py",
    }, deployment.urn
    env = one(plan, "machinelearningservices:EnvironmentVersion")
    assert "azureml-ai-monitoring" in env.inputs["properties"]["condaFile"], env.urn
    assert props["environmentId"] == env.outputs["id"], deployment.urn


def test_code_is_uploaded_with_entra_id_after_the_deployer_may_write(plan_for):
    """pulumi-azure-native v3 uploads blobs with the deployer's token: the grant comes first."""
    from infra.azure.mocks import DEPLOYER_OBJECT_ID

    plan = plan_for("azure-staging")
    grant = by_name(plan, "pipeline-deployer-upload")
    account = one(plan, "storage:StorageAccount", "pipeline-code")
    assert grant.inputs["principalId"] == DEPLOYER_OBJECT_ID and grant.inputs["scope"] == account.outputs["id"]
    assert grant.inputs["roleDefinitionId"].endswith(roles.STORAGE_BLOB_DATA_CONTRIBUTOR), grant.urn
    for blob in of(plan, "storage:Blob"):
        assert grant.urn in blob.dependencies, blob.urn
    ci = by_name(plan, "ci-deploy-code-upload")
    assert ci.inputs["principalId"] == by_name(plan, "ci-deploy").outputs["principalId"], ci.urn
    assert ci.inputs["scope"] == account.outputs["id"], ci.urn
