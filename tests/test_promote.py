"""`mlops promote`: an approved version written into a stack file as a reviewed, validated change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infra import stackfile
from infra.cli import app
from infra.promote import promote
from infra.promote.stackedit import PROMOTED_MARK, VersionRecord, set_model_version
from infra.stackfile import StackError

ROOT = Path(__file__).resolve().parent.parent
NEW_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-detection-stg-models-c83131/8"


@pytest.fixture
def project(tmp_path, monkeypatch):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def stack_text(project: Path, name: str) -> str:
    return (project / "stacks" / f"Pulumi.{name}.yaml").read_text()


def run(*args: str):
    return CliRunner().invoke(app, ["promote", *args])


def test_promotion_changes_only_the_version_block_and_validates(project):
    before = stack_text(project, "aws-prod")
    result = run("--from", "aws-staging", "--to", "aws-prod", "--approved-by", "bob", "--approved-at", "2026-12-01")
    assert result.exit_code == 0, result.stderr
    after = stack_text(project, "aws-prod")
    spec = stackfile.load("aws-prod").spec
    assert spec.serving.model_version.ref == stackfile.load("aws-staging").spec.serving.model_version.ref
    assert (spec.serving.model_version.promoted_from, spec.serving.model_version.approved_by) == ("aws-staging", "bob")
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert all(
        "model_version" in line or line.strip().startswith(("ref:", "approved_", "promoted_", "#"))
        for line in removed + added
    ), (removed, added)
    assert f"      {PROMOTED_MARK} from aws-staging, approved by bob on 2026-12-01." in after.splitlines()
    assert "# Reference stack: AWS prod." in after  # the file's own comments stay


def test_promoting_again_replaces_the_previous_note(project):
    for who in ("bob", "carol"):
        assert (
            run("--from", "aws-staging", "--to", "aws-prod", "--version", NEW_ARN, "--approved-by", who).exit_code == 0
        )
    text = stack_text(project, "aws-prod")
    assert text.count(PROMOTED_MARK) == 1 and "approved by carol" in text


def test_a_day_0_stack_gets_its_first_version(project):
    created = CliRunner().invoke(
        app,
        [
            "new",
            "--team",
            "fraud-detection",
            "--cloud",
            "aws",
            "--env",
            "staging",
            "--owner",
            "a@example.com",
            "--cost-center",
            "CC-1",
            "--from",
            "aws-staging",
        ],
    )
    assert created.exit_code == 0, created.stderr
    name = "fraud-detection-aws-staging"
    assert stackfile.load(name).spec.serving.model_version is None
    result = run("--from", "aws-staging", "--to", name, "--approved-by", "bob")
    assert result.exit_code == 0, result.stderr
    assert "was day 0" in result.stdout
    assert "# model_version: null" not in stack_text(project, name)  # the commented default gave way
    assert stackfile.load(name).spec.served_version is not None


def test_an_invalid_result_leaves_the_file_untouched(project):
    before = stack_text(project, "aws-prod")
    result = run("--from", "aws-staging", "--to", "aws-prod", "--approved-by", "bob", "--approved-at", "yesterday")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "stacks/Pulumi.aws-prod.yaml: mlops:spec.serving.model_version.approved_at: invalid format: must match "
        "^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:?\\d{2})?)?$ (got 'yesterday')"
    ]
    assert stack_text(project, "aws-prod") == before
    assert not list((project / "stacks").glob(".*tmp"))


@pytest.mark.parametrize(
    "args,expected",
    [
        (
            ["--from", "aws-staging", "--to", "gcp-prod", "--approved-by", "b"],
            "stacks/Pulumi.gcp-prod.yaml: mlops:spec.cloud: gcp-prod runs on gcp",
        ),
        (
            ["--from", "aws-staging", "--to", "aws-prod", "--version", "models/v1/model.tar.gz", "--approved-by", "b"],
            "stacks/Pulumi.aws-prod.yaml: --version: 'models/v1/model.tar.gz' is not a registered model version on aws",
        ),
        (
            ["--from", "aws-staging", "--to", "aws-prod", "--version", NEW_ARN],
            "stacks/Pulumi.aws-prod.yaml: --approved-by: name who approved this version",
        ),
        (
            ["--from", "azure-staging", "--to", "azure-prod", "--approved-by", "b"],
            "stacks/Pulumi.azure-prod.yaml: --version: azureml:churn-model:7 is a model of azure-staging's own workspace",
        ),
        (
            ["--from", "gcp-staging", "--to", "gcp-prod", "--approved-by", "b"],
            "stacks/Pulumi.gcp-prod.yaml: mlops:spec.serving.model_version.ref: the model is in project acme-search-ranking-stg",
        ),
    ],
)
def test_bad_promotions_exit_2_with_one_line_each(project, args, expected):
    before = {p.name: p.read_text() for p in (project / "stacks").iterdir()}
    result = run(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(expected), lines
    assert all(line.startswith("stacks/Pulumi.") for line in lines)  # one line per problem, naming the file
    assert {p.name: p.read_text() for p in (project / "stacks").iterdir()} == before


def test_a_source_at_day_0_has_nothing_to_promote(project):
    path = project / "stacks" / "Pulumi.azure-dev.yaml"
    document = yaml.safe_load(path.read_text())
    del document["config"]["mlops:spec"]["serving"]["model_version"]
    path.write_text(yaml.safe_dump(document))
    result = run("--from", "azure-dev", "--to", "azure-staging")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "stacks/Pulumi.azure-dev.yaml: mlops:spec.serving.model_version: azure-dev "
        "serves no version yet; pass --version REF or --latest-approved"
    )


def test_azure_registry_versions_promote_across_workspaces(project):
    ref = "azureml://registries/churn-prediction-models/models/churn-model/versions/9"
    assert run("--from", "azure-staging", "--to", "azure-prod", "--version", ref, "--approved-by", "b").exit_code == 0
    assert stackfile.load("azure-prod").spec.served_version.registry == "churn-prediction-models"


def test_edit_inserts_serving_when_the_stack_has_none():
    text = "config:\n  mlops:spec:\n    team: a\n    cloud: aws\n"
    edited = set_model_version(text, VersionRecord("arn:x", "s", "b", "2026-01-01"))
    spec = yaml.safe_load(edited)["config"]["mlops:spec"]
    assert spec["serving"]["model_version"] == {
        "ref": "arn:x",
        "promoted_from": "s",
        "approved_by": "b",
        "approved_at": "2026-01-01",
    }
    assert spec["team"] == "a"


def test_promotion_into_a_stack_without_serving_is_refused(project):
    path = project / "stacks" / "Pulumi.gcp-dev.yaml"
    document = yaml.safe_load(path.read_text())
    del document["config"]["mlops:spec"]["serving"]
    path.write_text(yaml.safe_dump(document))
    before = stack_text(project, "gcp-dev")
    with pytest.raises(StackError) as caught:
        promote(
            "gcp-staging",
            "gcp-dev",
            version="projects/acme-search-ranking-dev/locations/us-central1/models/r@1",
            approved_by="b",
        )
    assert caught.value.lines == [
        "stacks/Pulumi.gcp-dev.yaml: mlops:spec.serving.model_version: a model_version "
        "is named but serving is disabled; set serving.enabled: true or remove model_version"
    ]
    assert stack_text(project, "gcp-dev") == before


def test_latest_approved_version_from_the_sagemaker_registry(project, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    from infra.promote.registry import model_package_group

    source = stackfile.load("aws-staging")
    group = model_package_group(source.spec, source.name)
    with moto.mock_aws():
        sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
        arns = [
            sagemaker.create_model_package(
                ModelPackageGroupName=group,
                ModelApprovalStatus=status,
                InferenceSpecification={
                    "Containers": [{"Image": "img"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )["ModelPackageArn"]
            for status in ("Approved", "Approved", "PendingManualApproval")
        ]
        result = promote("aws-staging", "aws-prod", latest_approved=True, approved_by="bob", sagemaker=sagemaker)
    assert result.record.ref == arns[1]
    assert stackfile.load("aws-prod").spec.serving.model_version.ref == arns[1]
