"""serving.model_version: what each cloud accepts, the exact error lines, day 0 in plans and cost."""

from __future__ import annotations

import pytest
import yaml

from infra import stackfile
from infra.program import SERVING_WAITS, serving_model_version
from infra.spec import Spec, baseline_monthly_usd, versions

REGION = {"aws": "us-east-1", "azure": "westeurope", "gcp": "us-central1"}
GOOD = {
    "aws": "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-dev-models/3",
    "azure": "azureml:churn-model:4",
    "gcp": "projects/acme-fraud-1/locations/us-central1/models/ranker@2",
}


def raw(cloud: str, environment: str = "staging", **serving) -> dict:
    spec = {
        "team": "fraud",
        "cloud": cloud,
        "environment": environment,
        "region": REGION[cloud],
        "owner": "a@example.com",
        "cost_center": "CC-1",
        "serving": {"enabled": True, "model_name": "fraud", **serving},
    }
    if cloud == "gcp":
        spec["gcp"] = {"project_id": "acme-fraud-1", "billing_account": "01A2B3-C4D5E6-F7A8B9"}
    if cloud == "azure":
        spec["azure"] = {
            "cosmos_db_object_id": "5e0c2f1a-7b3d-4c8e-9f6a-2d1b0c3e4f5a",
            "scoring_hostname": "fraud.ml.example.internal",
        }
    return spec


def errors(spec: dict) -> list[str]:
    with pytest.raises(stackfile.StackError) as caught:
        stackfile.validate_spec(spec, "stacks/Pulumi.x.yaml")
    return caught.value.lines


@pytest.mark.parametrize("cloud", sorted(GOOD))
def test_each_cloud_accepts_its_registered_version_form(cloud):
    spec = Spec.model_validate(raw(cloud, model_version={"ref": GOOD[cloud]}))
    assert spec.serving.active and spec.served_version is not None


def test_parsed_references_expose_what_the_cloud_programs_need():
    aws = versions.parse("aws", GOOD["aws"])
    assert (aws.region, aws.account, aws.group, aws.version) == ("us-east-1", "123456789012", "fraud-dev-models", 3)
    registry = versions.parse("azure", "azureml://registries/shared/models/churn-model/versions/7")
    assert (registry.registry, registry.name, registry.version) == ("shared", "churn-model", "7")
    assert registry.asset_id == "azureml://registries/shared/models/churn-model/versions/7"
    assert versions.parse("azure", GOOD["azure"]).registry is None
    vertex = versions.parse("gcp", GOOD["gcp"])
    assert vertex.model_resource == "projects/acme-fraud-1/locations/us-central1/models/ranker"
    assert vertex.versioned_resource == GOOD["gcp"] and vertex.version_id == "2"


@pytest.mark.parametrize("cloud,other", [("aws", "gcp"), ("azure", "aws"), ("gcp", "azure")])
def test_another_clouds_reference_is_one_line_naming_the_path(cloud, other):
    lines = errors(raw(cloud, model_version={"ref": GOOD[other]}))
    assert len(lines) == 1
    assert lines[0].startswith("stacks/Pulumi.x.yaml: mlops:spec.serving.model_version.ref: ")
    assert f"is not a registered model version on {cloud}; expected" in lines[0]


def test_a_bucket_path_is_no_model_version():
    (line,) = errors(raw("aws", model_version={"ref": "models/fraud/v1/model.tar.gz"}))
    assert "mlops:spec.serving.model_version.ref" in line and "model package ARN" in line


def test_the_old_model_artifact_field_is_gone():
    (line,) = errors(raw("aws", model_artifact="models/fraud/v1/model.tar.gz"))
    assert line.startswith("stacks/Pulumi.x.yaml: mlops:spec.serving.model_artifact: unknown key")


def test_a_sagemaker_package_of_another_region_is_refused():
    ref = GOOD["aws"].replace("us-east-1", "eu-west-1")
    (line,) = errors(raw("aws", model_version={"ref": ref}))
    assert "model package is in eu-west-1 but the stack serves in us-east-1" in line


def test_a_vertex_model_of_another_project_must_be_copied_first():
    ref = GOOD["gcp"].replace("acme-fraud-1", "acme-fraud-stg")
    (line,) = errors(raw("gcp", model_version={"ref": ref}))
    assert "mlops:spec.serving.model_version.ref" in line and "gcloud ai models copy" in line


def test_a_version_without_serving_is_refused():
    spec = raw("aws", model_version={"ref": GOOD["aws"]})
    spec["serving"]["enabled"] = False
    (line,) = errors(spec)
    assert line.endswith(
        "mlops:spec.serving.model_version: a model_version is named but serving is disabled; "
        "set serving.enabled: true or remove model_version"
    )


def test_promotion_record_fields_and_an_unquoted_yaml_date():
    document = yaml.safe_load(
        "ref: azureml:churn-model:4\npromoted_from: azure-dev\napproved_by: alice\napproved_at: 2026-11-30\n"
    )
    spec = Spec.model_validate(raw("azure", model_version=document))
    assert spec.serving.model_version.approved_at == "2026-11-30"
    assert spec.serving.model_version.promoted_from == "azure-dev"


def test_day_0_serves_nothing_and_costs_no_serving():
    day0 = Spec.model_validate(raw("azure", "prod", min_replicas=2))
    serving = Spec.model_validate(raw("azure", "prod", min_replicas=2, model_version={"ref": GOOD["azure"]}))
    assert not day0.serving.active and day0.served_version is None
    assert "serving" not in baseline_monthly_usd(day0)[1] and "serving" in baseline_monthly_usd(serving)[1]
    assert serving_model_version(day0) == SERVING_WAITS
    assert serving_model_version(serving) == GOOD["azure"]


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod", "azure-staging", "azure-prod", "gcp-staging", "gcp-prod"])
def test_reference_staging_and_prod_stacks_serve_a_registered_version(stack):
    spec = stackfile.load(stack).spec
    assert spec.served_version is not None, stack


SERVING_TYPES = {
    "aws-staging": [
        "aws:sagemaker/model:Model",
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "aws:sagemaker/endpoint:Endpoint",
    ],
    "azure-staging": [
        "azure-native:machinelearningservices:OnlineEndpoint",
        "azure-native:machinelearningservices:OnlineDeployment",
    ],
}


@pytest.mark.parametrize("stack", sorted(SERVING_TYPES))
def test_a_day_0_plan_creates_the_platform_and_serves_nothing(plan_for, plan_variant, stack):
    pytest.importorskip({"aws": "pulumi_aws", "azure": "pulumi_azure_native"}[stack.split("-")[0]])
    day0, serving = plan_variant(stack, "day-0"), plan_for(stack)
    for type_ in SERVING_TYPES[stack]:
        assert day0.of_type(type_) == [] and serving.of_type(type_), type_
    assert day0.outputs["serving_model_version"] == SERVING_WAITS
    assert serving.outputs["serving_model_version"] == stackfile.load(stack).spec.serving.model_version.ref
    assert len(day0.resources) > 20  # the rest of the platform is there


def test_plan_text_says_serving_waits_at_day_0(plan_variant):
    pytest.importorskip("pulumi_aws")
    from rich.console import Console

    from infra.render import print_plan

    console = Console(record=True, width=200)
    print_plan(plan_variant("aws-staging", "day-0"), console)
    assert f"Serving: {SERVING_WAITS}" in console.export_text()
