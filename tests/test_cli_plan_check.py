"""`mlops plan` and `mlops check` on the reference stacks: contracts, exit codes, formats."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from infra import stackfile
from infra.catalog import CLOUDS
from infra.cli import app

STACKS = [f"{cloud}-{env}" for cloud in CLOUDS for env in ("dev", "staging", "prod")]
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def documents():
    found = {}
    for stack in STACKS:
        result = invoke("plan", stack, "--json")
        assert result.exit_code == 0, result.stderr
        found[stack] = json.loads(result.stdout)
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_plan_document_follows_the_contract(documents, stack):
    document = documents[stack]
    cloud, environment = stack.split("-")
    assert (document["stack"], document["cloud"], document["environment"]) == (stack, cloud, environment)
    urns = {r["urn"] for r in document["resources"]}
    assert len(urns) == len(document["resources"])
    for resource in document["resources"]:
        assert (
            resource["parent"] is None or resource["parent"] in urns or resource["parent"].endswith(f"::mlops-{stack}")
        )
        assert set(resource["dependencies"]) <= urns, resource["urn"]
        assert resource["provider"] is None or resource["provider"] in urns
        assert isinstance(resource["protect"], bool) and isinstance(resource["retainOnDelete"], bool)
    assert document["outputs"], "stack outputs are captured"
    items = document["cost"]["items"]
    assert document["cost"]["monthly_usd"] == pytest.approx(sum(i["monthly_usd"] for i in items), abs=0.01 * len(items))
    assert {i["urn"] for i in document["cost"]["items"]} <= urns
    for violation in document["policy"]["violations"]:
        assert set(violation) == {"policy", "enforcement", "urn", "message"}


@pytest.mark.parametrize("stack", ["aws-prod", "azure-prod", "gcp-prod"])
def test_prod_data_stores_are_protected(documents, stack):
    protected = [r for r in documents[stack]["resources"] if r["protect"] and r["retainOnDelete"]]
    assert protected, f"{stack}: prod plans protect their stateful resources"


def test_plans_are_identical_run_to_run():
    first, second = invoke("plan", "azure-prod", "--json"), invoke("plan", "azure-prod", "--json")
    assert first.stdout == second.stdout


def test_plan_tree_shows_components_and_counts():
    result = invoke("plan", "aws-dev")
    assert result.exit_code == 0
    assert result.stdout.startswith("aws-dev (aws, dev): ")
    assert "datalake mlops:aws:DataLake" in result.stdout
    assert "Estimated monthly cost" in result.stdout


def test_plan_of_an_invalid_stack_exits_2(tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  mlops:spec:\n    team: x\n")
    result = invoke("plan", str(bad))
    assert result.exit_code == 2 and "mlops:spec.team" in result.stderr


def test_check_all_reference_stacks_pass():
    result = invoke("check", "--all")
    assert result.exit_code == 0, result.stdout
    assert len([line for line in result.stdout.splitlines() if line.startswith(tuple(STACKS))]) == 9


def test_check_json_and_markdown_formats():
    as_json = json.loads(invoke("check", "aws-dev", "--format", "json").stdout)
    assert as_json["stacks"][0]["stack"] == "aws-dev"
    markdown = invoke("check", "aws-dev", "--format", "markdown").stdout
    assert markdown.startswith("<!-- mlops-check -->") and "| `aws-dev` | aws | dev |" in markdown


def test_check_exits_1_on_a_mandatory_violation(tmp_path):
    """Versioning off is schema-valid outside prod, but a mandatory data-protection policy."""
    raw = stackfile.read_raw_spec(stackfile.resolve("aws-staging"))
    raw["storage"] = {"versioning": False}
    path = tmp_path / "Pulumi.aws-staging.yaml"
    path.write_text(yaml.safe_dump({"config": {"mlops:spec": raw}}))
    result = invoke("check", str(path))
    assert result.exit_code == 1
    assert "aws-s3-bucketversioning-require-enabled" in result.stdout


def test_check_usage_errors_exit_2():
    assert invoke("check").exit_code == 2
    assert invoke("check", "aws-dev", "--format", "html").exit_code == 2


def test_the_console_script_exits_with_the_command_code_and_flushed_output(tmp_path):
    """`main()` skips the interpreter's teardown; the exit code, output and atexit handlers stay."""
    import subprocess
    import sys

    script = (
        "import atexit, sys; from infra.cli import main; "
        "atexit.register(lambda: print('atexit ran', file=sys.stderr)); sys.argv[0] = 'mlops'; main()"
    )
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config: {}\n")
    for args, code in ((["validate", "aws-dev"], 0), (["validate", str(bad)], 2), (["plan"], 2)):
        done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True)
        assert done.returncode == code, done.stderr
        assert done.stderr.endswith("atexit ran\n")
        if code == 0:
            assert done.stdout.endswith("ok (aws, dev)\n")
