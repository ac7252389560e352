"""Security properties of the GCP plans: storage, IAM, encryption, GKE, network exposure."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi_gcp")

from infra.gcp.identity import CUSTOM_ROLE_GRANTS, FORBIDDEN_ROLES, FUNCTION_SOURCES_ROLE, PROJECT_GRANTS  # noqa: E402
from tests.gcp.helpers import (  # noqa: E402
    ACCOUNT,
    BUCKET,
    BUCKET_IAM,
    CLUSTER,
    CRYPTO_KEY,
    ENDPOINT,
    FUNCTION,
    IAM_TYPES,
    KEY_IAM,
    NODE_POOL,
    PROJECT_IAM,
    PROJECT_NUMBER,
    REPO_IAM,
    SA_IAM,
    STACKS,
    WORKBENCH,
    named,
    one,
)

CUSTOM_ROLE = "gcp:projects/iAMCustomRole:IAMCustomRole"

PROJECTS = {
    "gcp-dev": "acme-search-ranking-dev",
    "gcp-staging": "acme-search-ranking-stg",
    "gcp-prod": "acme-search-ranking-prd",
}


def _emails(plan) -> dict[str, str]:
    return {r.name.removeprefix("identity-"): r.outputs["email"] for r in plan.of_type(ACCOUNT)}


# --- storage -------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_buckets_use_uniform_access(plan_for, stack):
    for b in plan_for(stack).of_type(BUCKET):
        assert b.inputs["uniformBucketLevelAccess"] is True, b.urn


@pytest.mark.parametrize("stack", STACKS)
def test_buckets_enforce_public_access_prevention(plan_for, stack):
    for b in plan_for(stack).of_type(BUCKET):
        assert b.inputs["publicAccessPrevention"] == "enforced", b.urn


@pytest.mark.parametrize("stack", STACKS)
def test_buckets_keep_versions_and_prune_noncurrent_ones(plan_for, stack):
    for b in plan_for(stack).of_type(BUCKET):
        assert b.inputs["versioning"] == {"enabled": True}, b.urn
        assert any("daysSinceNoncurrentTime" in rule["condition"] for rule in b.inputs["lifecycleRules"]), b.urn


@pytest.mark.parametrize("stack", STACKS)
def test_data_and_captures_tier_to_nearline_then_archive(plan_for, stack):
    for b in plan_for(stack).of_type(BUCKET):
        if b.name in ("datalake-data", "datalake-monitoring"):
            classes = [r["action"].get("storageClass") for r in b.inputs["lifecycleRules"]]
            assert classes[:2] == ["NEARLINE", "ARCHIVE"], b.urn


@pytest.mark.parametrize("stack", STACKS)
def test_models_baselines_and_releases_are_never_tiered_or_expired(plan_for, stack):
    """Read at every deploy, drift check and pipeline run: no retrieval fees, no minimum duration."""
    for name in ("datalake-artifacts", "datalake-releases"):
        b = one(plan_for(stack), BUCKET, name)
        assert all(
            r["action"]["type"] == "Delete" and "daysSinceNoncurrentTime" in r["condition"]
            for r in b.inputs["lifecycleRules"]
        ), b.urn


def test_release_artifacts_are_readable_but_not_writable_by_any_workload(plan_for):
    plan = plan_for("gcp-staging")
    releases = one(plan, BUCKET, "datalake-releases").inputs["name"]
    grants = [r for r in plan.of_type(BUCKET_IAM) if r.inputs["bucket"] == releases]
    assert grants and {r.inputs["role"] for r in grants} == {"roles/storage.objectViewer"}
    emails = _emails(plan)
    readers = {r.inputs["member"] for r in grants}
    assert {f"serviceAccount:{emails[a]}" for a in ("pipelines", "retrain", "builder", "notebooks")} <= readers
    spec = one(plan, FUNCTION).inputs["serviceConfig"]["environmentVariables"]["PIPELINE_SPEC_URI"]
    assert spec.startswith(f"gs://{releases}/")


@pytest.mark.parametrize("stack", ["gcp-staging", "gcp-prod"])
def test_buckets_use_the_stack_key_when_cmek_is_on(plan_for, stack):
    plan = plan_for(stack)
    key_id = one(plan, CRYPTO_KEY).outputs["id"]
    for b in plan.of_type(BUCKET):
        assert b.inputs["encryption"] == {"defaultKmsKeyName": key_id}, b.urn


def test_dev_has_no_kms_key_and_google_managed_bucket_encryption(plan_for):
    plan = plan_for("gcp-dev")
    assert plan.of_type(CRYPTO_KEY) == []
    for b in plan.of_type(BUCKET):
        assert "encryption" not in b.inputs, b.urn


def test_prod_buckets_cannot_be_force_destroyed(plan_for):
    for b in plan_for("gcp-prod").of_type(BUCKET):
        assert b.inputs["forceDestroy"] is False, b.urn


# --- encryption ----------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["gcp-staging", "gcp-prod"])
def test_key_rotates_every_90_days(plan_for, stack):
    key = one(plan_for(stack), CRYPTO_KEY)
    assert key.inputs["rotationPeriod"] == "7776000s", key.urn


@pytest.mark.parametrize("agent", ["gs-project-accounts", "gcp-sa-artifactregistry", "gcp-sa-aiplatform"])
def test_service_agents_may_use_the_key(plan_for, agent):
    plan = plan_for("gcp-prod")
    key = one(plan, CRYPTO_KEY)
    members = {g.inputs["member"]: g for g in plan.of_type(KEY_IAM)}
    member = f"serviceAccount:service-{PROJECT_NUMBER}@{agent}.iam.gserviceaccount.com"
    assert member in members, sorted(members)
    grant = members[member]
    assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter", grant.urn
    assert grant.inputs["cryptoKeyId"] == key.outputs["id"], grant.urn


def test_only_service_agents_may_use_the_key(plan_for):
    for g in plan_for("gcp-prod").of_type(KEY_IAM):
        assert g.inputs["member"].startswith(
            (f"serviceAccount:service-{PROJECT_NUMBER}@", f"serviceAccount:bq-{PROJECT_NUMBER}@bigquery-encryption.")
        ), g.urn


# --- IAM ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_no_primitive_roles_anywhere(plan_for, stack):
    for type_ in IAM_TYPES:
        for r in plan_for(stack).of_type(type_):
            assert r.inputs["role"] not in FORBIDDEN_ROLES, r.urn


@pytest.mark.parametrize("stack", STACKS)
def test_no_service_account_keys(plan_for, stack):
    keys = [r.urn for r in plan_for(stack).resources if r.type.startswith("gcp:serviceaccount/key")]
    assert keys == []


@pytest.mark.parametrize("stack", STACKS)
def test_project_level_roles_are_only_the_documented_unavoidable_ones(plan_for, stack):
    plan = plan_for(stack)
    emails = _emails(plan)
    allowed = {(f"serviceAccount:{emails[a]}", role) for a, roles in PROJECT_GRANTS.items() for role, _ in roles}
    roles = {r.name.removeprefix("identity-role-"): r.outputs["name"] for r in plan.of_type(CUSTOM_ROLE)}
    allowed |= {(f"serviceAccount:{emails[a]}", roles[key]) for a, (key, _) in CUSTOM_ROLE_GRANTS.items()}
    allowed.add((f"serviceAccount:{emails['builder']}", FUNCTION_SOURCES_ROLE))
    from infra import stackfile
    from infra.gcp.identity import ADMIN_PROJECT_ROLES
    from tests.conftest import ROOT

    admins = stackfile.load(stack, ROOT).spec.access.admins
    allowed |= {(p.principal, role) for p in admins for role, _ in ADMIN_PROJECT_ROLES}
    # The CI identities' project roles are documented and tested in test_ci_identity.py.
    for r in [r for r in plan.of_type(PROJECT_IAM) if "mlops:gcp:CiIdentity$" not in r.urn]:
        assert (r.inputs["member"], r.inputs["role"]) in allowed, r.urn
        assert r.inputs["project"] == PROJECTS[stack], r.urn


def test_storage_roles_are_granted_on_buckets_or_conditioned_to_one_bucket(plan_for):
    plan = plan_for("gcp-prod")
    for r in plan.of_type(PROJECT_IAM):
        if r.inputs["role"].startswith("roles/storage.") and "CiIdentity" not in r.urn:
            expression = r.inputs["condition"]["expression"]
            assert (
                expression == 'resource.name.startsWith("projects/_/buckets/gcf-v2-sources-123456789012-us-central1")'
            )
    bucket_names = {b.inputs["name"] for b in plan.of_type(BUCKET)}
    for r in plan.of_type(BUCKET_IAM):
        assert r.inputs["bucket"] in bucket_names, r.urn


@pytest.mark.parametrize("stack", STACKS)
def test_retrain_account_may_only_read_models_and_run_pipelines(plan_for, stack):
    plan = plan_for(stack)
    member = f"serviceAccount:{_emails(plan)['retrain']}"
    roles = {r.inputs["role"] for r in plan.of_type(PROJECT_IAM) if r.inputs["member"] == member}
    assert "roles/aiplatform.user" not in roles
    [custom] = [r for r in plan.of_type(CUSTOM_ROLE) if r.outputs["name"] in roles]
    assert sorted(custom.inputs["permissions"]) == [
        "aiplatform.models.get",  # the served version's baseline
        "aiplatform.pipelineJobs.create",
        "aiplatform.pipelineJobs.get",
    ]


def test_function_builds_after_its_accounts_grants_have_settled(plan_for):
    plan = plan_for("gcp-prod")
    fn = one(plan, FUNCTION)
    [wait] = [r for r in plan.resources if r.type == "time:index/sleep:Sleep" and r.urn in fn.dependencies]
    assert wait.inputs["createDuration"] == "60s"
    emails = _emails(plan)
    members = {f"serviceAccount:{emails['builder']}", f"serviceAccount:{emails['retrain']}"}
    grants = [
        r.urn
        for r in plan.resources
        if r.custom and r.inputs.get("member") in members and r.type in (PROJECT_IAM, BUCKET_IAM, REPO_IAM)
    ]
    assert grants and set(grants) <= set(wait.dependencies)
    agent = one(plan, "gcp:projects/serviceIdentity:ServiceIdentity", "retraining-eventarc-agent")
    assert agent.urn in wait.dependencies
    bucket_names = {b.inputs["name"] for b in plan.of_type(BUCKET)}
    for r in plan.of_type(BUCKET_IAM):
        assert r.inputs["bucket"] in bucket_names, r.urn


def test_serving_account_can_only_read_artifacts_and_write_captures(plan_for):
    plan = plan_for("gcp-prod")
    member = f"serviceAccount:{_emails(plan)['serving']}"
    buckets = {b.inputs["name"]: b.name.removeprefix("datalake-") for b in plan.of_type(BUCKET)}
    grants = {
        (buckets[r.inputs["bucket"]], r.inputs["role"])
        for r in plan.of_type(BUCKET_IAM)
        if r.inputs["member"] == member
    }
    assert grants == {("artifacts", "roles/storage.objectViewer"), ("monitoring", "roles/storage.objectCreator")}


def test_pipelines_may_act_as_training_on_the_training_account_only(plan_for):
    plan = plan_for("gcp-prod")
    accounts = named(plan, ACCOUNT)
    grant = one(plan, SA_IAM, "identity-pipelines-actas-training")
    assert grant.inputs["serviceAccountId"] == accounts["identity-training"].outputs["name"], grant.urn
    assert grant.inputs["role"] == "roles/iam.serviceAccountUser", grant.urn
    assert grant.inputs["member"] == f"serviceAccount:{_emails(plan)['pipelines']}", grant.urn


# --- GKE ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_cluster_uses_workload_identity(plan_for, stack):
    cluster = one(plan_for(stack), CLUSTER)
    assert cluster.inputs["workloadIdentityConfig"] == {"workloadPool": f"{PROJECTS[stack]}.svc.id.goog"}, cluster.urn


@pytest.mark.parametrize("stack", STACKS)
def test_pods_get_gke_metadata_server(plan_for, stack):
    for pool in plan_for(stack).of_type(NODE_POOL):
        assert pool.inputs["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}, pool.urn


@pytest.mark.parametrize("stack", STACKS)
def test_serving_pods_bind_to_the_serving_account(plan_for, stack):
    plan = plan_for(stack)
    grant = one(plan, SA_IAM, "kubernetes-wi-serving-model-server")
    assert grant.inputs["role"] == "roles/iam.workloadIdentityUser", grant.urn
    assert grant.inputs["member"] == f"serviceAccount:{PROJECTS[stack]}.svc.id.goog[serving/model-server]"
    assert grant.inputs["serviceAccountId"] == named(plan, ACCOUNT)["identity-serving"].outputs["name"]
    assert one(plan, CLUSTER).urn in grant.dependencies, grant.urn


@pytest.mark.parametrize("stack", ["gcp-staging", "gcp-prod"])
def test_private_stacks_have_private_nodes(plan_for, stack):
    cluster = one(plan_for(stack), CLUSTER)
    assert cluster.inputs["privateClusterConfig"]["enablePrivateNodes"] is True, cluster.urn
    assert "masterAuthorizedNetworksConfig" in cluster.inputs, cluster.urn


def test_public_dev_cluster_has_no_private_config(plan_for):
    cluster = one(plan_for("gcp-dev"), CLUSTER)
    assert "privateClusterConfig" not in cluster.inputs, cluster.urn


@pytest.mark.parametrize("stack", STACKS)
def test_nodes_run_as_the_dedicated_node_account_on_shielded_vms(plan_for, stack):
    plan = plan_for(stack)
    email = _emails(plan)["gke-nodes"]
    for pool in plan.of_type(NODE_POOL):
        config = pool.inputs["nodeConfig"]
        assert config["serviceAccount"] == email, pool.urn
        assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}


@pytest.mark.parametrize("stack", STACKS)
def test_cluster_has_no_default_pool_and_enforces_network_policy(plan_for, stack):
    inputs = one(plan_for(stack), CLUSTER).inputs
    assert (inputs["removeDefaultNodePool"], inputs["initialNodeCount"]) == (True, 1)
    assert inputs["datapathProvider"] == "ADVANCED_DATAPATH"
    assert inputs["enableShieldedNodes"] is True


@pytest.mark.parametrize("stack,expected", [("gcp-dev", False), ("gcp-staging", False), ("gcp-prod", True)])
def test_cluster_deletion_protection_only_in_prod(plan_for, stack, expected):
    cluster = one(plan_for(stack), CLUSTER)
    assert cluster.inputs["deletionProtection"] is expected, cluster.urn


@pytest.mark.parametrize("stack,location", [("gcp-dev", "us-central1-a"), ("gcp-prod", "us-central1")])
def test_cluster_is_zonal_in_dev_and_regional_in_prod(plan_for, stack, location):
    cluster = one(plan_for(stack), CLUSTER)
    assert cluster.inputs["location"] == location, cluster.urn


def test_dev_user_pool_uses_spot_vms(plan_for):
    pool = one(plan_for("gcp-dev"), NODE_POOL, "kubernetes-user")
    assert pool.inputs["nodeConfig"]["spot"] is True, pool.urn


def test_prod_gpu_pool_is_tainted_with_matching_accelerators(plan_for):
    pool = one(plan_for("gcp-prod"), NODE_POOL, "kubernetes-gpu")
    config = pool.inputs["nodeConfig"]
    assert config["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}], pool.urn
    assert config["machineType"] == "g2-standard-4"
    assert [(a["type"], a["count"]) for a in config["guestAccelerators"]] == [("nvidia-l4", 1)]


# --- Vertex and Workbench -------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["gcp-staging", "gcp-prod"])
def test_private_endpoints_use_private_service_connect(plan_for, stack):
    endpoint = one(plan_for(stack), ENDPOINT)
    assert endpoint.inputs["privateServiceConnectConfig"] == {
        "enablePrivateServiceConnect": True,
        "projectAllowlists": [PROJECTS[stack]],
    }, endpoint.urn
    assert "dedicatedEndpointEnabled" not in endpoint.inputs


def test_no_endpoint_when_serving_is_off(plan_variant):
    assert plan_variant("gcp-dev", "no-serving").of_type(ENDPOINT) == []


def test_workbench_instances_are_private_and_shielded(plan_for):
    instance = one(plan_for("gcp-dev"), WORKBENCH)
    setup = instance.inputs["gceSetup"]
    assert setup["disablePublicIp"] is True, instance.urn
    assert setup["shieldedInstanceConfig"] == {
        "enableSecureBoot": True,
        "enableVtpm": True,
        "enableIntegrityMonitoring": True,
    }
    assert instance.inputs["instanceOwners"] == ["carol@example.com"]
    assert setup["serviceAccounts"] == [{"email": _emails(plan_for("gcp-dev"))["notebooks"]}]


def test_prod_has_no_workbench(plan_for):
    assert plan_for("gcp-prod").of_type(WORKBENCH) == []


# --- GKE control plane access and workload identity objects ------------------------------------

K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_SA = "kubernetes:core/v1:ServiceAccount"


@pytest.mark.parametrize("stack", STACKS)
def test_control_plane_is_reachable_through_the_iam_guarded_dns_endpoint(plan_for, stack):
    plan = plan_for(stack)
    cluster = one(plan, CLUSTER)
    assert cluster.inputs["controlPlaneEndpointsConfig"] == {"dnsEndpointConfig": {"allowExternalTraffic": True}}
    dns = cluster.outputs["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["endpoint"]
    assert plan.outputs["gke_dns_endpoint"] == dns and dns.endswith(".gke.goog")


@pytest.mark.parametrize("stack", STACKS)
def test_ip_endpoint_is_never_open_to_the_internet(plan_for, stack):
    cluster = one(plan_for(stack), CLUSTER)
    networks = cluster.inputs["masterAuthorizedNetworksConfig"]
    assert networks["gcpPublicCidrsAccessEnabled"] is False, cluster.urn
    assert all(not c["cidrBlock"].endswith("/0") for c in networks["cidrBlocks"]), cluster.urn


@pytest.mark.parametrize("stack", ["gcp-staging", "gcp-prod"])
def test_private_ip_endpoint_has_global_access(plan_for, stack):
    private = one(plan_for(stack), CLUSTER).inputs["privateClusterConfig"]
    assert private["enablePrivateEndpoint"] is True and private["masterGlobalAccessConfig"] == {"enabled": True}


@pytest.mark.parametrize("stack", STACKS)
def test_workload_identity_service_accounts_exist_in_their_namespaces(plan_for, stack):
    plan = plan_for(stack)
    emails = _emails(plan)
    namespaces = {r.inputs["metadata"]["name"] for r in plan.of_type(K8S_NAMESPACE)}
    ksas = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs["metadata"]["annotations"][
            "iam.gke.io/gcp-service-account"
        ]
        for r in plan.of_type(K8S_SA)
    }
    bindings = {
        r.inputs["member"]: r.inputs["serviceAccountId"]
        for r in plan.of_type(SA_IAM)
        if r.inputs["role"] == "roles/iam.workloadIdentityUser" and ".svc.id.goog[" in r.inputs["member"]
    }
    accounts = {a.outputs["name"]: a.outputs["email"] for a in plan.of_type(ACCOUNT)}
    assert len(ksas) == len(bindings) == 2 and {ns for ns, _ in ksas} <= namespaces
    for (namespace, ksa), email in ksas.items():
        member = f"serviceAccount:{PROJECTS[stack]}.svc.id.goog[{namespace}/{ksa}]"
        assert accounts[bindings[member]] == email
    assert ksas[("serving", "model-server")] == emails["serving"]


@pytest.mark.parametrize("stack", STACKS)
def test_kubernetes_objects_go_through_a_provider_for_this_cluster(plan_for, stack):
    plan = plan_for(stack)
    [provider] = [r for r in plan.resources if r.type == "pulumi:providers:kubernetes"]
    assert one(plan, CLUSTER).urn in provider.dependencies
    for r in plan.of_type(K8S_NAMESPACE) + plan.of_type(K8S_SA):
        assert r.provider == provider.urn, r.urn


def test_kubeconfig_targets_the_dns_endpoint_with_a_token():
    import json as _json

    from infra.gcp.kubernetes import kubeconfig

    config = _json.loads(kubeconfig("gke-abc.us-central1.gke.goog", "tok"))
    assert config["clusters"][0]["cluster"] == {"server": "https://gke-abc.us-central1.gke.goog"}
    assert config["users"][0]["user"] == {"token": "tok"}


@pytest.mark.parametrize("stack", STACKS)
def test_node_pools_wait_for_the_node_accounts_grants(plan_for, stack):
    plan = plan_for(stack)
    grant = one(plan, PROJECT_IAM, "identity-gke-nodes-project-container.defaultNodeServiceAccount")
    for pool in plan.of_type(NODE_POOL):
        assert grant.urn in pool.dependencies, pool.urn


def test_admins_operate_the_platform_without_primitive_roles(plan_for):
    plan = plan_for("gcp-prod")
    admin = "group:ml-platform-admins@example.com"
    buckets = {r.inputs["bucket"]: r.inputs["role"] for r in plan.of_type(BUCKET_IAM) if r.inputs["member"] == admin}
    assert set(buckets) == {b.inputs["name"] for b in plan.of_type(BUCKET)}
    assert set(buckets.values()) == {"roles/storage.objectAdmin"}
    roles = {r.inputs["role"] for r in plan.of_type(PROJECT_IAM) if r.inputs["member"] == admin}
    assert roles == {"roles/aiplatform.user", "roles/container.developer"}


def test_gcp_training_settings_the_pipeline_cannot_honour_are_refused():
    from pydantic import ValidationError

    from infra.stackfile import error_lines
    from tests.test_spec import spec

    with pytest.raises(ValidationError) as exc:
        spec("gcp", "staging", training={"spot": True, "max_nodes": 3})
    lines = error_lines(exc.value)
    assert any(
        line.startswith("mlops:spec.training.spot: a Vertex AI pipeline task runs on an on-demand") for line in lines
    )
    assert any(
        line.startswith("mlops:spec.training.max_nodes: the GCP training pipeline runs the workload on one")
        for line in lines
    )
    assert spec("gcp", "dev").training.spot is False and spec("gcp", "dev").training.max_nodes == 1


@pytest.mark.parametrize("stack", STACKS)
def test_flow_logs_are_sampled_and_aggregated_to_stay_cheap(plan_for, stack):
    subnet = one(plan_for(stack), "gcp:compute/subnetwork:Subnetwork")
    assert subnet.inputs["logConfig"] == {
        "aggregationInterval": "INTERVAL_10_MIN",
        "flowSampling": 0.1,
        "metadata": "EXCLUDE_ALL_METADATA",
    }, subnet.urn
