"""`mlops new` (infra.scaffold): new team stacks validate, plan and pass `mlops check` as written;
existing files are never touched; bad options are refused naming the option; --from adapts a copy."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from infra import guardrails, stackfile
from infra.checker import check_stacks
from infra.scaffold import fleet_specs, new_stack, write_new
from infra.stackfile import StackError

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "stacks"
GCP = {"project_id": "acme-search-dev", "billing_account": "01A2B3-C4D5E6-F7A8B9"}
COSMOS_DB_OBJECT_ID = "5e0c2f1a-7b3d-4c8e-9f6a-2d1b0c3e4f5a"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: mlops\nruntime: python\n")
    return tmp_path


def make(root: Path, team: str = "fraud", cloud: str = "aws", env: str = "dev", **options) -> Path:
    options.setdefault("owner", f"{team.lower()}@example.com")
    options.setdefault("cost_center", "CC-1")
    if cloud == "gcp":
        for key, value in GCP.items():
            options.setdefault(key, value)
    if cloud == "azure" and env != "dev":  # customer-managed keys need the tenant's Cosmos DB app
        options.setdefault("cosmos_db_object_id", COSMOS_DB_OBJECT_ID)
    return new_stack(team, cloud, env, root=root, **options)


def refused(root: Path, *args, **options) -> list[str]:
    before = sorted(os.listdir(root / "stacks"))
    with pytest.raises(StackError) as caught:
        make(root, *args, **options)
    assert sorted(os.listdir(root / "stacks")) == before, "a refused scaffold left files behind"
    return caught.value.lines


# ---- out of the box -----------------------------------------------------------------------------


@pytest.mark.parametrize("cloud, env", [("aws", "dev"), ("azure", "staging"), ("gcp", "prod")])
def test_new_stack_validates_plans_and_passes_check(root, cloud, env):
    path = make(root, "fraud", cloud, env)
    assert path == root / "stacks" / f"Pulumi.fraud-{cloud}-{env}.yaml"
    stack = stackfile.load(path)
    assert (stack.spec.team, stack.spec.cloud, stack.spec.environment) == ("fraud", cloud, env)
    (report,) = check_stacks([path])
    assert report.error is None and report.resources > 10
    assert report.count("mandatory") == 0, report.violations


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_new_stack_is_valid_for_every_cloud_and_environment(root, cloud, env):
    stack = stackfile.load(make(root, "fraud", cloud, env))
    assert stack.spec.region == {"aws": "us-east-1", "azure": "westeurope", "gcp": "us-central1"}[cloud]
    assert guardrails.applies_to(stack.name)


def test_file_has_schema_header_identity_and_commented_defaults_with_bounds(root):
    text = make(root, "fraud", "aws", "staging", region="eu-west-1").read_text()
    assert text.startswith("# yaml-language-server: $schema=../schema/stack-file.schema.json\n")
    raw = yaml.safe_load(text)["config"]["mlops:spec"]
    assert raw == {
        "team": "fraud",
        "cloud": "aws",
        "environment": "staging",
        "region": "eu-west-1",
        "owner": "fraud@example.com",
        "cost_center": "CC-1",
    }
    assert "    #   max_replicas: 2   # at most 4 in staging (guardrail 'max-serving-replicas')\n" in text
    assert "    #   monthly_usd: 2000.0   # at most 5000 in staging (guardrail 'budget-ceiling')\n" in text
    assert "network: {mode: private" in text  # what the platform sets is shown, not settable
    assert "# network:" not in text


def uncomment_defaults(text: str) -> str:
    """Every commented default (`# key: value` lines, not help text or examples) made real."""
    out, skip_indent = [], None
    for line in text.splitlines():
        m = re.match(r"^(\s+)# (\s*)([a-z_]+):(.*)$", line)
        if m and skip_indent is not None and len(m.group(2)) > skip_indent:
            continue  # inside an example block
        skip_indent = None
        if m and "not set; for example" in m.group(4):
            skip_indent = len(m.group(2))
            continue
        out.append(f"{m.group(1)}{m.group(2)}{m.group(3)}:{m.group(4)}" if m else line)
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("cloud, env", [("aws", "dev"), ("azure", "prod"), ("gcp", "staging")])
def test_commented_defaults_are_exactly_what_the_environment_gives(root, cloud, env):
    path = make(root, "fraud", cloud, env)
    explicit = path.with_name("Pulumi.fraudx-" + path.name.split("-", 1)[1])
    explicit.write_text(uncomment_defaults(path.read_text()).replace("team: fraud", "team: fraudx"))
    loaded = stackfile.load(explicit)  # everything a team may set, set explicitly: still within guardrails
    assert len(loaded.raw_spec) > 10
    assert loaded.spec.model_copy(update={"team": "fraud"}) == stackfile.load(path).spec


# ---- never overwrite ----------------------------------------------------------------------------


def test_existing_file_is_refused_and_left_untouched(root):
    path = root / "stacks" / "Pulumi.fraud-aws-dev.yaml"
    path.write_text("config: {}  # someone's work\n")
    lines = refused(root, "fraud", "aws", "dev")
    assert lines == [f"{stackfile.display(path)}: already exists; edit it or choose another team/environment"]
    assert path.read_text() == "config: {}  # someone's work\n"


def test_a_second_new_of_the_same_stack_is_refused(root):
    path = make(root)
    text = path.read_text()
    assert "already exists" in refused(root, "fraud", "aws", "dev", owner="other@example.com")[0]
    assert path.read_text() == text


def test_write_new_refuses_a_file_that_appeared_meanwhile_and_leaves_no_temporary_file(root):
    path = root / "stacks" / "Pulumi.x-aws-dev.yaml"
    path.write_text("theirs\n")
    with pytest.raises(StackError, match="already exists"):
        write_new(path, "ours\n")
    assert path.read_text() == "theirs\n"
    assert os.listdir(root / "stacks") == [path.name]


def test_write_new_without_hard_links_still_never_overwrites(root, monkeypatch):
    def no_links(src, dst):
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    path = root / "stacks" / "Pulumi.x-aws-dev.yaml"
    write_new(path, "ours\n")
    assert path.read_text() == "ours\n" and os.listdir(root / "stacks") == [path.name]
    with pytest.raises(StackError, match="already exists"):
        write_new(path, "again\n")
    assert path.read_text() == "ours\n"


def test_new_file_gets_ordinary_permissions(root):
    mode = make(root).stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


# ---- refusing bad options -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, options, expected",
    [
        (
            ("Fraud!",),
            {"owner": "a@example.com"},
            "--team 'Fraud!': invalid format: use lowercase letters, digits and single hyphens, starting with a letter",
        ),
        (("fraud--x",), {"owner": "a@example.com"}, "--team 'fraud--x': invalid format"),
        (("f",), {"owner": "a@example.com"}, "--team 'f': String should have at least 2 characters"),
        (("sthree-ads",), {}, "--team 'sthree-ads': cannot form a valid s3_bucket name"),
        (("fraud", "oracle"), {}, "--cloud 'oracle': Input should be 'aws', 'azure' or 'gcp'"),
        (("fraud", "aws", "qa"), {}, "--env 'qa': Input should be 'dev', 'staging' or 'prod'"),
        (("fraud",), {"region": "westeurope"}, "--region 'westeurope': 'westeurope' is not a supported aws region"),
        (("fraud",), {"owner": "nobody"}, "--owner 'nobody': invalid format: use an e-mail address"),
        (("fraud",), {"cost_center": "CC 1"}, "--cost-center 'CC 1': invalid format"),
        (("fraud",), {"project_id": "acme-x-123"}, "--project-id/--billing-account: only apply to gcp stacks"),
        (
            ("fraud", "gcp"),
            {"project_id": "", "billing_account": ""},
            "--project-id and --billing-account: required for a GCP stack",
        ),
        (("fraud", "gcp"), {"project_id": "A"}, "--project-id 'A': invalid format"),
    ],
)
def test_bad_options_are_refused_naming_the_option(root, args, options, expected):
    lines = refused(root, *args, **options)
    assert len(lines) == 1 and lines[0].startswith(expected), lines


# ---- --from -------------------------------------------------------------------------------------


def test_from_a_prod_reference_stack_into_dev_adapts_to_the_guardrails(root):
    path = make(root, "payments", "aws", "dev", from_stack=str(REFERENCE / "Pulumi.aws-prod.yaml"))
    text = path.read_text()
    stack = stackfile.load(path)
    source = stackfile.load("aws-prod", ROOT).raw_spec
    raw = stack.raw_spec
    assert (raw["team"], raw["environment"], raw["owner"]) == ("payments", "dev", "payments@example.com")
    assert raw["serving"]["model_name"] == source["serving"]["model_name"]
    assert raw["aws"] == source["aws"] and raw["storage"] == source["storage"]
    assert "access" not in raw  # admins are granted by the platform; data scientists of another team dropped
    assert raw["serving"]["max_replicas"] == 2 and raw["budget"]["monthly_usd"] == 1000
    assert "# Adapted for dev: access.admins dropped (set by the platform)" in text
    assert "# Adapted for dev: serving.max_replicas 6 -> 2 (guardrail 'max-serving-replicas' in dev)" in text


@pytest.mark.parametrize("cloud", ["azure", "gcp"])
def test_from_prod_into_dev_drops_the_gpu_pool(root, cloud):
    path = make(root, "payments", cloud, "dev", from_stack=str(REFERENCE / f"Pulumi.{cloud}-prod.yaml"))
    stack = stackfile.load(path)
    assert stack.spec.kubernetes.gpu_pool is None
    assert "kubernetes.gpu_pool dropped" in path.read_text()
    assert "gpu_pool.size_class dropped" not in path.read_text()  # superseded by the pool's note


def test_from_dev_into_prod_takes_prod_defaults_where_dev_values_do_not_fit(root):
    path = make(root, "payments", "azure", "prod", from_stack=str(REFERENCE / "Pulumi.azure-dev.yaml"))
    spec = stackfile.load(path).spec
    assert spec.budget.monthly_usd == 10000  # the dev budget is below the prod always-on cost
    assert spec.region == "westeurope" and spec.network.mode == "private"


def test_from_keeps_the_source_region_unless_given(root):
    src = str(REFERENCE / "Pulumi.gcp-staging.yaml")
    assert stackfile.load(make(root, "a1", "gcp", "staging", from_stack=src)).spec.region == "us-central1"
    spec = stackfile.load(make(root, "a2", "gcp", "staging", from_stack=src, region="europe-west1")).spec
    assert spec.region == "europe-west1" and spec.gcp.project_id == GCP["project_id"]


def test_from_a_team_stack(root):
    first = make(root, "fraud", "aws", "dev", from_stack=str(REFERENCE / "Pulumi.aws-dev.yaml"))
    second = make(root, "fraud", "aws", "staging", from_stack="fraud-aws-dev")
    assert stackfile.load(second).spec.serving.model_name == stackfile.load(first).spec.serving.model_name


def test_from_another_teams_stack_does_not_copy_its_people(root):
    src = str(REFERENCE / "Pulumi.aws-dev.yaml")  # team fraud-detection, data scientist alice
    path = make(root, "payments", "aws", "dev", from_stack=src)
    assert "access" not in stackfile.load(path).raw_spec
    assert "access.data_scientists dropped (people of team fraud-detection)" in path.read_text()
    same_team = make(root, "fraud-detection", "aws", "staging", from_stack=src)
    assert stackfile.load(same_team).spec.access.data_scientists[0].name == "alice"


def test_from_a_missing_stack_is_refused(root):
    lines = refused(root, "fraud", "aws", "dev", from_stack="aws-devv")
    assert len(lines) == 1 and "stack file not found" in lines[0]


def test_from_a_stack_of_another_cloud_is_refused(root):
    lines = refused(root, "fraud", "aws", "dev", from_stack=str(REFERENCE / "Pulumi.gcp-dev.yaml"))
    assert lines[0].startswith(f"--from {REFERENCE / 'Pulumi.gcp-dev.yaml'}: is a GCP stack")


# ---- the benchmark fleet ------------------------------------------------------------------------


def test_fleet_is_deterministic_spread_and_all_valid_within_guardrails():
    fleet = fleet_specs(50)
    assert fleet == fleet_specs(50) and fleet != fleet_specs(50, seed=1)
    names = [name for name, _ in fleet]
    assert len(set(names)) == 50
    combos = {(raw["cloud"], raw["environment"]) for _, raw in fleet}
    assert len(combos) == 9
    for name, raw in fleet:
        assert name == f"{raw['team']}-{raw['cloud']}-{raw['environment']}"
        spec = stackfile.validate_spec(raw, name)
        assert guardrails.check(raw, spec) == [], name


def test_a_fleet_sample_plans_and_passes_check(tmp_path):
    fleet = fleet_specs(50)
    paths = []
    for i in (0, 4, 8, 10, 14, 15):  # every cloud and environment
        name, raw = fleet[i]
        path = tmp_path / f"Pulumi.{name}.yaml"
        path.write_text(yaml.safe_dump({"config": {"mlops:spec": raw}}, sort_keys=False))
        paths.append(path)
    for report in check_stacks(paths):
        assert report.error is None and report.count("mandatory") == 0, (report.stack, report.violations)
