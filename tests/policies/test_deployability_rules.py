"""Deployability rules: each with a plan that trips it and the same plan fixed the documented way."""

from __future__ import annotations

import json

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

import policies
from tests.policies.helpers import resource, run_stack, urn


def test_every_deployability_rule_is_mandatory_everywhere_and_links_its_documentation():
    rules = [r for r in policies.RULES if r.group == "deployability"]
    assert {r.cloud for r in rules} == {"aws", "azure", "gcp"}
    for rule in rules:
        assert rule.kind == "stack" and rule.url and rule.url.startswith("https://"), rule.name
        assert {env: policies.level_for(rule, env) for env in ("dev", "staging", "prod")} == {
            "dev": "mandatory",
            "staging": "mandatory",
            "prod": "mandatory",
        }


# ---- AWS ------------------------------------------------------------------------------------------

BUCKET = "aws:s3/bucket:Bucket"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
MODEL = "aws:sagemaker/model:Model"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def aws_model(model_data: dict, upload: bool = False):
    resources = [
        resource(BUCKET, "artifacts", {"bucket": "team-artifacts"}),
        resource(MODEL, "model", {"primaryContainer": {"image": "img", **model_data}}),
    ]
    if upload:
        resources.append(
            resource(OBJECT, "model-object", {"bucket": "team-artifacts", "key": "models/m/v1/model.tar.gz"})
        )
    return resources


def test_aws_model_serving_an_artifact_nothing_uploads_is_caught():
    found = run_stack(
        "aws-stack-sagemaker-model-require-artifact",
        aws_model({"modelDataUrl": "s3://team-artifacts/models/m/v1/model.tar.gz"}),
    )
    assert [u for _, u in found] == [urn(MODEL, "model")]
    assert "primaryContainer.modelDataUrl s3://team-artifacts/models/m/v1/model.tar.gz" in found[0][0]


@pytest.mark.parametrize(
    "model_data, upload",
    [
        ({"modelDataUrl": "s3://team-artifacts/models/m/v1/model.tar.gz"}, True),  # uploaded by the plan
        ({"modelPackageName": "arn:aws:sagemaker:us-east-1:1:model-package/g/3"}, False),  # a registered version
        ({"modelDataUrl": "s3://shared-models/m/model.tar.gz"}, False),  # storage outside the stack
    ],
)
def test_aws_model_with_a_registered_or_uploaded_artifact_passes(model_data, upload):
    assert run_stack("aws-stack-sagemaker-model-require-artifact", aws_model(model_data, upload)) == []


def test_aws_model_check_skips_unknown_bucket_names():
    resources = aws_model({"modelDataUrl": "s3://team-artifacts/models/m/v1/model.tar.gz"})
    resources[0] = resource(BUCKET, "artifacts", {"bucket": UNKNOWN_STRING_VALUE})
    assert run_stack("aws-stack-sagemaker-model-require-artifact", resources) == []


def pipeline_definition(code_uri: str) -> str:
    return json.dumps(
        {
            "Steps": [
                {
                    "Name": "Prepare",
                    "Type": "Processing",
                    "Arguments": {
                        "ProcessingInputs": [
                            {
                                "InputName": "code",
                                "S3Input": {"LocalPath": "/opt/ml/processing/input/code", "S3Uri": code_uri},
                            }
                        ]
                    },
                },
                {
                    "Name": "Gate",
                    "Type": "Condition",
                    "Arguments": {
                        "IfSteps": [
                            {
                                "Name": "Train",
                                "Type": "Training",
                                "Arguments": {
                                    "HyperParameters": {
                                        "sagemaker_submit_directory": json.dumps(
                                            "s3://team-artifacts/code/train.tar.gz"
                                        )
                                    }
                                },
                            }
                        ]
                    },
                },
            ]
        }
    )


def test_aws_pipeline_code_nothing_uploads_is_caught_also_in_nested_steps():
    resources = [
        resource(BUCKET, "artifacts", {"bucket": "team-artifacts"}),
        resource(
            PIPELINE, "pipeline", {"pipelineDefinition": pipeline_definition("s3://team-artifacts/code/prepare.py")}
        ),
        resource(OBJECT, "prepare", {"bucket": "team-artifacts", "key": "code/prepare.py"}),
    ]
    found = run_stack("aws-stack-code-require-upload", resources)
    assert found == [
        (
            "step 'Train' downloads its code from s3://team-artifacts/code/train.tar.gz, which nothing "
            "in the plan uploads: the first pipeline run fails",
            urn(PIPELINE, "pipeline"),
        )
    ]
    resources.append(resource(OBJECT, "train", {"bucket": "team-artifacts", "key": "code/train.tar.gz"}))
    assert run_stack("aws-stack-code-require-upload", resources) == []


def test_aws_training_step_code_channel_must_be_uploaded():
    step = {
        "Name": "Train",
        "Type": "Training",
        "Arguments": {
            "InputDataConfig": [
                {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": {"Get": "Parameters.InputDataUri"}}}},
                {
                    "ChannelName": "code",
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://team-artifacts/code/workload-1.zip"}
                    },
                },
            ]
        },
    }
    resources = [
        resource(BUCKET, "artifacts", {"bucket": "team-artifacts"}),
        resource(PIPELINE, "pipeline", {"pipelineDefinition": json.dumps({"Steps": [step]})}),
    ]
    found = run_stack("aws-stack-code-require-upload", resources)
    assert found == [
        (
            "step 'Train' downloads its code from s3://team-artifacts/code/workload-1.zip, which nothing "
            "in the plan uploads: the first pipeline run fails",
            urn(PIPELINE, "pipeline"),
        )
    ]
    resources.append(resource(OBJECT, "code", {"bucket": "team-artifacts", "key": "code/workload-1.zip"}))
    assert run_stack("aws-stack-code-require-upload", resources) == []


def test_aws_function_code_from_a_stack_bucket_must_be_uploaded():
    function = resource(
        FUNCTION,
        "fn",
        {
            "s3Bucket": "team-artifacts",
            "s3Key": "fn.zip",
            "environment": {
                "variables": {
                    "PIPELINE_TEMPLATE": "s3://team-artifacts/t.json",
                    "BASELINE_URI": "s3://team-artifacts/b.json",
                }
            },
        },
    )
    found = run_stack(
        "aws-stack-code-require-upload", [resource(BUCKET, "artifacts", {"bucket": "team-artifacts"}), function]
    )
    assert [m.split(" ")[0:3] for m, _ in found] == [
        ["function", "code", "s3://team-artifacts/fn.zip"],
        ["environment", "variable", "PIPELINE_TEMPLATE"],
    ]
    uploads = [
        resource(OBJECT, "zip", {"bucket": "team-artifacts", "key": "fn.zip"}),
        resource(OBJECT, "template", {"bucket": "team-artifacts", "key": "t.json"}),
    ]
    assert (
        run_stack(
            "aws-stack-code-require-upload",
            [resource(BUCKET, "artifacts", {"bucket": "team-artifacts"}), function, *uploads],
        )
        == []
    )


def aws_identity(wait: bool):
    return [
        resource(ROLE, "role", {"name": "exec"}),
        resource(ROLE_POLICY, "role-policy", {"role": "exec", "policy": "{}"}, {"role": ["role"]}),
        resource(
            MODEL,
            "model",
            {"executionRoleArn": "arn:aws:iam::1:role/exec"},
            {"executionRoleArn": ["role"]},
            depends_on=["role-policy"] if wait else None,
        ),
    ]


def test_aws_resource_using_a_role_before_its_policy_is_caught():
    assert run_stack("aws-stack-identities-require-permissions-first", aws_identity(wait=False)) == [
        (
            "executionRoleArn uses role role but the resource does not wait for role-policy, which give the role its "
            "permissions: it can start before they exist",
            urn(MODEL, "model"),
        )
    ]


def test_aws_resource_waiting_for_its_role_policy_passes():
    assert run_stack("aws-stack-identities-require-permissions-first", aws_identity(wait=True)) == []


def test_aws_role_matched_by_arn_without_a_property_dependency():
    resources = aws_identity(wait=False)
    resources[2] = resource(MODEL, "model", {"executionRoleArn": "arn:aws:iam::1:role/exec"})
    assert len(run_stack("aws-stack-identities-require-permissions-first", resources)) == 1


# ---- GCP ------------------------------------------------------------------------------------------

SERVICE = "gcp:projects/service:Service"
IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
KEY_MEMBER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
METRIC = "gcp:logging/metric:Metric"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
SLEEP = "time:index/sleep:Sleep"
GCS = "gcp:storage/bucket:Bucket"
GCS_OBJECT = "gcp:storage/bucketObject:BucketObject"
GCF = "gcp:cloudfunctionsv2/function:Function"
ACCOUNT = "gcp:serviceaccount/account:Account"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"


def agent_grant(domain: str, depends_on: list[str]):
    return resource(
        KEY_MEMBER,
        "grant",
        {
            "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            "member": f"serviceAccount:service-42@{domain}.iam.gserviceaccount.com",
        },
        depends_on=depends_on,
    )


def test_gcp_grant_to_a_service_agent_must_wait_for_its_api():
    services = [resource(SERVICE, "services-container", {"service": "container.googleapis.com"})]
    found = run_stack(
        "gcp-stack-service-agent-grants-require-api", [*services, agent_grant("container-engine-robot", [])]
    )
    assert found == [
        (
            "grant of roles/cloudkms.cryptoKeyEncrypterDecrypter to the container-engine-robot service agent "
            "does not wait for services-container (enables container.googleapis.com): on a fresh project the "
            "agent does not exist yet",
            urn(KEY_MEMBER, "grant"),
        )
    ]
    assert (
        run_stack(
            "gcp-stack-service-agent-grants-require-api",
            [*services, agent_grant("container-engine-robot", ["services-container"])],
        )
        == []
    )


def test_gcp_grant_waiting_for_its_api_through_the_identity_passes():
    resources = [
        resource(SERVICE, "services-aiplatform", {"service": "aiplatform.googleapis.com"}),
        resource(IDENTITY, "agent", {"service": "aiplatform.googleapis.com"}, depends_on=["services-aiplatform"]),
        agent_grant("gcp-sa-aiplatform", ["agent"]),
    ]
    assert run_stack("gcp-stack-service-agent-grants-require-api", resources) == []
    assert run_stack("gcp-stack-service-agent-grants-require-identity", resources) == []


def test_gcp_grant_to_a_per_service_agent_must_wait_for_its_service_identity():
    resources = [
        resource(IDENTITY, "pubsub-agent", {"service": "pubsub.googleapis.com"}),
        agent_grant("gcp-sa-aiplatform", ["pubsub-agent"]),
    ]  # the wrong agent's identity
    found = run_stack("gcp-stack-service-agent-grants-require-identity", resources)
    assert [u for _, u in found] == [urn(KEY_MEMBER, "grant")]
    assert "gcp.projects.ServiceIdentity of aiplatform.googleapis.com" in found[0][0]
    # Agents created with their API, and the Cloud Storage agent (its own lookup), need none.
    assert run_stack("gcp-stack-service-agent-grants-require-identity", [agent_grant("compute-system", [])]) == []
    assert run_stack("gcp-stack-service-agent-grants-require-identity", [agent_grant("gs-project-accounts", [])]) == []


def metric_alert(*, wait: bool):
    alert_deps = ["sleep"] if wait else []
    return [
        resource(METRIC, "drift-metric", {"name": "team-drift-score"}),
        resource(SLEEP, "sleep", {"createDuration": "5m"}, depends_on=["drift-metric"]),
        resource(
            ALERT,
            "drift-alert",
            {
                "conditions": [
                    {"conditionThreshold": {"filter": 'metric.type = "logging.googleapis.com/user/team-drift-score"'}}
                ]
            },
            depends_on=alert_deps,
        ),
    ]


def test_gcp_alert_on_a_new_log_metric_must_wait():
    assert run_stack("gcp-stack-log-metric-alerts-require-wait", metric_alert(wait=False)) == [
        (
            "alert policy uses log-based metric drift-metric created in the same update with nothing waiting in between: "
            "the Monitoring API answers 404 for up to 10 minutes",
            urn(ALERT, "drift-alert"),
        )
    ]
    assert run_stack("gcp-stack-log-metric-alerts-require-wait", metric_alert(wait=True)) == []


def test_gcp_alert_on_a_metric_the_stack_does_not_create_passes():
    resources = metric_alert(wait=False)[2:]
    assert run_stack("gcp-stack-log-metric-alerts-require-wait", resources) == []


def gcp_function(env: dict, uploaded: list[str]):
    return [
        resource(GCS, "artifacts", {"name": "team-artifacts"}),
        *[
            resource(GCS_OBJECT, f"obj-{i}", {"bucket": "team-artifacts", "name": name})
            for i, name in enumerate(uploaded)
        ],
        resource(
            GCF,
            "fn",
            {
                "buildConfig": {"source": {"storageSource": {"bucket": "team-artifacts", "object": "fn.zip"}}},
                "serviceConfig": {"environmentVariables": env},
            },
        ),
    ]


def test_gcp_function_source_and_submitted_template_must_be_uploaded():
    env = {
        "PIPELINE_TEMPLATE": "gs://team-artifacts/pipelines/training.json",
        "WINDOW_URI": "gs://team-artifacts/capture/",
    }
    found = run_stack("gcp-stack-code-require-upload", gcp_function(env, []))
    assert [m.split(" names ")[0] for m, _ in found] == ["buildConfig.source", "environment variable PIPELINE_TEMPLATE"]
    assert run_stack("gcp-stack-code-require-upload", gcp_function(env, ["fn.zip", "pipelines/training.json"])) == []


def gcp_identity(wait: bool):
    email = "builder@proj.iam.gserviceaccount.com"
    return [
        resource(ACCOUNT, "builder", {"accountId": "builder", "project": "proj"}),
        resource(
            PROJECT_MEMBER,
            "builder-logs",
            {"role": "roles/logging.logWriter", "member": f"serviceAccount:{email}"},
            {"member": ["builder"]},
        ),
        resource(
            GCF,
            "fn",
            {"buildConfig": {"serviceAccount": f"projects/proj/serviceAccounts/{email}"}},
            {"buildConfig": ["builder"]},
            depends_on=["builder-logs"] if wait else None,
        ),
    ]


def test_gcp_resource_running_as_an_account_before_its_grants_is_caught():
    assert run_stack("gcp-stack-identities-require-permissions-first", gcp_identity(wait=False)) == [
        (
            "runs as service account builder but does not wait for its grants builder-logs: it can start before the "
            "roles are granted",
            urn(GCF, "fn"),
        )
    ]
    assert run_stack("gcp-stack-identities-require-permissions-first", gcp_identity(wait=True)) == []


def test_gcp_grant_that_needs_the_resource_first_is_not_required():
    resources = gcp_identity(wait=False)
    resources[1] = resource(
        "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
        "invoker",
        {"role": "roles/run.invoker", "member": "serviceAccount:builder@proj.iam.gserviceaccount.com"},
        {"member": ["builder"], "name": ["fn"]},
    )
    assert run_stack("gcp-stack-identities-require-permissions-first", resources) == []


# ---- Azure ----------------------------------------------------------------------------------------

AZ = "azure-native:"
WORKSPACE = AZ + "machinelearningservices:Workspace"
ENDPOINT = AZ + "machinelearningservices:OnlineEndpoint"
ASSIGNMENT = AZ + "authorization:RoleAssignment"
REGISTRY_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerRegistry/registries/acr"
STORAGE_ID = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/lake"
ROLE_DEFINITIONS = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"


def endpoint_assignment(role_guid: str, scope: str, identity: str = "SystemAssigned"):
    return [
        resource(
            WORKSPACE,
            "workspace",
            {"workspaceName": "ws", "containerRegistry": REGISTRY_ID, "storageAccount": STORAGE_ID},
        ),
        resource(
            ENDPOINT,
            "endpoint",
            {"workspaceName": "ws", "identity": {"type": identity}},
            {"workspaceName": ["workspace"]},
        ),
        resource(
            ASSIGNMENT,
            "grant",
            {"roleDefinitionId": ROLE_DEFINITIONS + role_guid, "scope": scope, "principalId": "p"},
            {"principalId": ["endpoint"]},
        ),
    ]


@pytest.mark.parametrize(
    "role, scope",
    [("7f951dda-4ed3-4680-a7ca-43fe172d538d", REGISTRY_ID), ("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", STORAGE_ID)],
)
def test_azure_assignments_azure_ml_makes_for_an_endpoint_are_caught(role, scope):
    found = run_stack("azure-stack-role-assignments-deny-implicit-duplicates", endpoint_assignment(role, scope))
    assert [u for _, u in found] == [urn(ASSIGNMENT, "grant")] and "RoleAssignmentExists" in found[0][0]


@pytest.mark.parametrize(
    "role, scope, identity",
    [
        ("ba92f5b4-2d11-453d-a403-e96b0029c9fe", STORAGE_ID, "SystemAssigned"),  # Contributor: Azure does not make it
        ("7f951dda-4ed3-4680-a7ca-43fe172d538d", REGISTRY_ID, "UserAssigned"),  # user-assigned: nothing automatic
    ],
)
def test_azure_assignments_azure_does_not_make_pass(role, scope, identity):
    assert (
        run_stack("azure-stack-role-assignments-deny-implicit-duplicates", endpoint_assignment(role, scope, identity))
        == []
    )


POOL = AZ + "containerservice:AgentPool"
CLUSTER = AZ + "containerservice:ManagedCluster"
SUBNET = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/vnet/subnets/"


def pools(chained: bool, second_subnet: str = "aks"):
    return [
        resource(POOL, "pool-a", {"resourceName": "aks", "vnetSubnetID": SUBNET + "aks"}),
        resource(
            POOL,
            "pool-b",
            {"resourceName": "aks", "vnetSubnetID": SUBNET + second_subnet},
            depends_on=["pool-a"] if chained else None,
        ),
    ]


def test_azure_agent_pools_on_one_vnet_created_in_parallel_are_caught():
    for subnet in ("aks", "gpu"):  # the same subnet, or another subnet of the same virtual network
        assert [u for _, u in run_stack("azure-stack-agentpools-require-serial-creation", pools(False, subnet))] == [
            urn(POOL, "pool-b")
        ]


def test_azure_chained_agent_pools_pass():
    assert run_stack("azure-stack-agentpools-require-serial-creation", pools(True)) == []


EXTENSION = AZ + "kubernetesconfiguration:Extension"


def ml_extension(settings: dict, system_nodes: int, user_nodes: int = 0):
    return [
        resource(
            CLUSTER, "aks", {"resourceName": "aks", "agentPoolProfiles": [{"name": "system", "count": system_nodes}]}
        ),
        resource(POOL, "user", {"resourceName": "aks", "count": user_nodes}, {"resourceName": ["aks"]}),
        resource(
            EXTENSION,
            "azureml",
            {
                "extensionType": "Microsoft.AzureML.Kubernetes",
                "clusterName": "aks",
                "configurationSettings": {"enableInference": "True", **settings},
            },
            {"clusterName": ["aks"]},
            depends_on=["user"],
        ),
    ]


def test_azure_ml_extension_with_an_ssl_secret_nothing_creates_is_caught():
    found = run_stack(
        "azure-stack-ml-extension-require-prerequisites",
        ml_extension({"sslSecret": "tls", "inferenceRouterHA": "False"}, 3),
    )
    assert len(found) == 1 and "sslSecret 'tls' must already exist in namespace 'azureml'" in found[0][0]


def test_azure_ml_extension_with_ha_routers_on_fewer_than_three_nodes_is_caught():
    found = run_stack("azure-stack-ml-extension-require-prerequisites", ml_extension({}, 1, 1))
    assert found == [
        (
            "inferenceRouterHA (the default) runs three inference routers and needs at least 3 nodes; the "
            "cluster has 2 when the extension installs: set inferenceRouterHA 'False' or add nodes",
            urn(EXTENSION, "azureml"),
        )
    ]


@pytest.mark.parametrize("settings, system, user", [({}, 2, 1), ({"inferenceRouterHA": "False"}, 1, 0)])
def test_azure_ml_extension_with_its_prerequisites_passes(settings, system, user):
    assert run_stack("azure-stack-ml-extension-require-prerequisites", ml_extension(settings, system, user)) == []


MODEL_VERSION = AZ + "machinelearningservices:ModelVersion"
SCHEDULE = AZ + "machinelearningservices:Schedule"
DATASTORE = AZ + "machinelearningservices:Datastore"
CONTAINER = AZ + "storage:BlobContainer"
BLOB = AZ + "storage:Blob"
DATA_VERSION = AZ + "machinelearningservices:DataVersion"


def azure_serving(uploaded: bool, registered: bool):
    resources = [
        resource(CONTAINER, "artifacts", {"accountName": "lake", "containerName": "artifacts"}),
        resource(
            DATASTORE,
            "datastore",
            {"name": "lake_artifacts", "properties": {"accountName": "lake", "containerName": "artifacts"}},
        ),
        resource(
            MODEL_VERSION,
            "model",
            {"properties": {"modelUri": "azureml://datastores/lake_artifacts/paths/models/m/v1"}},
        ),
        resource(
            SCHEDULE,
            "monitor",
            {
                "properties": {
                    "action": {
                        "monitorDefinition": {
                            "signals": {"drift": {"productionData": {"uri": "azureml:ep-blue-model_inputs:1"}}}
                        }
                    }
                }
            },
        ),
    ]
    if uploaded:
        resources.append(
            resource(
                BLOB,
                "model-blob",
                {"accountName": "lake", "containerName": "artifacts", "blobName": "models/m/v1/model.pkl"},
            )
        )
    if registered:
        resources.append(resource(DATA_VERSION, "inputs", {"name": "ep-blue-model_inputs", "version": "1"}))
    return resources


def test_azure_model_version_and_monitor_inputs_nothing_creates_are_caught():
    found = run_stack("azure-stack-ml-serving-require-artifact", azure_serving(False, False))
    assert [u for _, u in found] == [urn(MODEL_VERSION, "model"), urn(SCHEDULE, "monitor")]
    assert run_stack("azure-stack-ml-serving-require-artifact", azure_serving(True, True)) == []


WEB_APP = AZ + "web:WebApp"
COMPONENT = AZ + "machinelearningservices:ComponentContainer"


def function_app(uploaded: bool):
    app = resource(
        WEB_APP,
        "fn",
        {
            "functionAppConfig": {"deployment": {"storage": {"value": "https://lake.blob.core.windows.net/package"}}},
            "siteConfig": {
                "appSettings": [{"name": "RETRAIN_PIPELINE_COMPONENT", "value": "azureml:retrain-m@latest"}]
            },
        },
    )
    resources = [resource(CONTAINER, "package", {"accountName": "lake", "containerName": "package"}), app]
    if uploaded:
        resources += [
            resource(BLOB, "zip", {"accountName": "lake", "containerName": "package", "blobName": "fn.zip"}),
            resource(COMPONENT, "component", {"name": "retrain-m"}),
        ]
    return resources


def test_azure_function_without_package_or_component_is_caught():
    found = run_stack("azure-stack-code-require-upload", function_app(False))
    assert [m.split(" ")[0] for m, _ in found] == ["functionAppConfig.deployment.storage", "app"]
    assert run_stack("azure-stack-code-require-upload", function_app(True)) == []


UAI = AZ + "managedidentity:UserAssignedIdentity"


def azure_identity(wait: bool):
    return [
        resource(UAI, "monitor-id", {"resourceName": "id"}),
        resource(ASSIGNMENT, "monitor-blob", {"principalId": "p"}, {"principalId": ["monitor-id"]}),
        resource(
            SCHEDULE,
            "monitor",
            {"identity": {"type": "UserAssigned"}},
            {"identity": ["monitor-id"]},
            depends_on=["monitor-blob"] if wait else None,
        ),
    ]


def test_azure_resource_using_a_user_assigned_identity_before_its_roles_is_caught():
    assert run_stack("azure-stack-identities-require-permissions-first", azure_identity(False)) == [
        (
            "runs as user-assigned identity monitor-id but does not wait for its role assignments monitor-blob",
            urn(SCHEDULE, "monitor"),
        )
    ]
    assert run_stack("azure-stack-identities-require-permissions-first", azure_identity(True)) == []
