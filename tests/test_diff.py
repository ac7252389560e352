"""`mlops diff` (infra/diff.py): comparison of plan documents, stack selection from git, and the
whole diff against a base commit in a temporary git repository holding a copy of this project."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.diff import (
    MARKER,
    DiffError,
    diff,
    diff_exit_code,
    render_diff_json,
    render_diff_markdown,
    render_diff_text,
)
from infra.diffing.compare import compare_documents, diff_values
from infra.diffing.git import select_stacks
from infra.diffing.rules import rules

pytest.importorskip("pulumi_aws")

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "aws:s3/bucket:Bucket"


# ---- comparing plan documents (no planning) ----------------------------------------------------


def res(name, type_="aws:sns/topic:Topic", parent="p", protect=False, provider=None, **inputs):
    urn = f"urn:pulumi:s::mlops::{parent}${type_}::{name}"
    return {
        "urn": urn,
        "type": type_,
        "name": name,
        "custom": True,
        "inputs": inputs,
        "parent": parent,
        "dependencies": [],
        "provider": provider,
        "protect": protect,
        "retainOnDelete": protect,
    }


def doc(*resources, cost=0.0):
    return {
        "stack": "s",
        "cloud": "aws",
        "environment": "dev",
        "resources": list(resources),
        "outputs": {},
        "cost": {"monthly_usd": cost, "items": []},
        "policy": {"violations": []},
    }


def by_name(changes):
    return {c.name: c for c in changes}


def test_diff_values_reports_leaf_paths():
    old = {"a": {"b": 1, "c": [1, 2]}, "d": "x", "gone": 1}
    new = {"a": {"b": 2, "c": [1, 3]}, "d": "x", "new": True}
    assert diff_values(old, new) == [("a.b", 1, 2), ("a.c[1]", 2, 3), ("gone", 1, None), ("new", None, True)]


def test_lists_of_different_length_change_as_a_whole():
    assert diff_values({"l": [1]}, {"l": [1, 2]}) == [("l", [1], [1, 2])]


def test_added_removed_updated_replaced():
    base = doc(res("keep", displayName="a"), res("gone"), res("raw", BUCKET, bucket="b1", forceDestroy=True))
    now = doc(res("keep", displayName="b"), res("new"), res("raw", BUCKET, bucket="b2", forceDestroy=True))
    changes = by_name(compare_documents(base, now))
    assert {n: c.action for n, c in changes.items()} == {
        "keep": "update",
        "gone": "delete",
        "new": "create",
        "raw": "replace",
    }
    assert [(p.path, p.old, p.new, p.forces_replacement) for p in changes["raw"].changes] == [
        ("bucket", "b1", "b2", True)
    ]


def test_tag_changes_never_replace():
    base = doc(res("raw", BUCKET, bucket="b", tags={"owner": "a"}))
    now = doc(res("raw", BUCKET, bucket="b", tags={"owner": "b"}))
    (change,) = compare_documents(base, now)
    assert (change.action, change.at_risk) == ("update", False)


def test_data_at_risk_is_listed_first_and_protection_is_noted():
    base = doc(res("aaa", displayName="x"), res("zzz", BUCKET, protect=True, bucket="b1"))
    now = doc(res("aaa", displayName="y"), res("zzz", BUCKET, bucket="b2"))
    changes = compare_documents(base, now)
    assert [c.name for c in changes] == ["zzz", "aaa"]
    assert changes[0].at_risk and changes[0].protected and changes[0].stateful


def test_deleting_a_stateless_protected_resource_is_at_risk():
    (change,) = compare_documents(doc(res("t", protect=True)), doc())
    assert change.action == "delete" and not change.stateful and change.at_risk


def test_urn_change_is_a_delete_and_create_with_the_reason():
    base = doc(res("raw", BUCKET, parent="old", bucket="b"))
    now = doc(res("raw", BUCKET, parent="new", bucket="b"))
    changes = {(c.action, c.urn.split("::")[2].split("$")[0]): c for c in compare_documents(base, now)}
    assert set(changes) == {("delete", "old"), ("create", "new")}
    assert "URN changed" in changes[("delete", "old")].reason
    assert changes[("delete", "old")].at_risk


def test_a_replaced_provider_replaces_its_resources():
    provider = res("aws", "pulumi:providers:aws", region="us-east-1")
    ref = provider["urn"] + "::id-1"
    base = doc(provider, res("t", provider=ref, displayName="same"))
    moved = res("aws", "pulumi:providers:aws", region="eu-west-1")
    now = doc(moved, res("t", provider=ref, displayName="same"))
    changes = by_name(compare_documents(base, now))
    assert changes["aws"].action == "replace"
    assert changes["t"].action == "replace" and "provider aws is replaced" in changes["t"].reason


def test_whole_stack_added_or_removed():
    stack = doc(res("a"), res("b", BUCKET, bucket="x"))
    assert {c.action for c in compare_documents(None, stack)} == {"create"}
    removed = compare_documents(stack, None)
    assert {c.action for c in removed} == {"delete"} and removed[0].name == "b" and removed[0].at_risk


@pytest.mark.parametrize(
    ("type_", "path", "replaces"),
    [
        (BUCKET, "bucket", True),
        (BUCKET, "versioning.enabled", False),
        ("aws:s3/bucketVersioning:BucketVersioning", "bucket", True),
        ("aws:kms/key:Key", "keyUsage", True),
        ("aws:kms/key:Key", "description", False),
        ("aws:budgets/budget:Budget", "limitAmount", False),
        ("azure-native:storage:StorageAccount", "accountName", True),
        ("azure-native:storage:StorageAccount", "location", True),
        ("azure-native:storage:StorageAccount", "friendlyName", False),
        ("azure-native:storage:StorageAccount", "enableHttpsTrafficOnly", False),
        ("azure-native:keyvault:Vault", "vaultName", True),
        ("azure-native:containerregistry:Registry", "registryName", True),
        ("gcp:storage/bucket:Bucket", "name", True),
        ("gcp:storage/bucket:Bucket", "labels.team", False),
        ("gcp:kms/cryptoKey:CryptoKey", "keyRing", True),
        ("gcp:artifactregistry/repository:Repository", "format", True),
        ("gcp:container/nodePool:NodePool", "nodeConfig.spot", True),
        ("gcp:container/nodePool:NodePool", "autoscaling.maxNodeCount", False),
        ("gcp:storage/bucketIAMMember:BucketIAMMember", "member", True),
        ("aws:sagemaker/model:Model", "primaryContainer.image", True),
        ("aws:sagemaker/model:Model", "tags.owner", False),
    ],
)
def test_replace_on_change_table(type_, path, replaces):
    assert rules().forces_replacement(type_, path) is replaces


@pytest.mark.parametrize(
    "type_",
    [
        BUCKET,
        "aws:kms/key:Key",
        "aws:ecr/repository:Repository",
        "azure-native:storage:StorageAccount",
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Key",
        "azure-native:containerregistry:Registry",
        "gcp:storage/bucket:Bucket",
        "gcp:kms/keyRing:KeyRing",
        "gcp:kms/cryptoKey:CryptoKey",
        "gcp:artifactregistry/repository:Repository",
        "gcp:vertex/aiMetadataStore:AiMetadataStore",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    ],
)
def test_stateful_types(type_):
    assert rules().is_stateful(type_)


def test_every_protected_reference_resource_is_stateful(plan_for):
    """Prod protects exactly what holds data; the diff must treat all of it as data at risk."""
    missing = sorted(
        {
            r.type
            for stack in ("aws-prod", "azure-prod", "gcp-prod")
            for r in plan_for(stack).resources
            if r.protect and not rules().is_stateful(r.type)
        }
    )
    assert missing == []


# ---- git: a temporary repository with a copy of the project -----------------------------------


def run_git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def make_repo(tmp: Path) -> Path:
    repo = tmp / "repo"
    repo.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("infra", "policies", "stacks", "schema"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, repo / name)
    run_git(repo, "init", "-q")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-qm", "base")
    return repo


def edit_spec(repo: Path, stack: str, change) -> None:
    path = repo / "stacks" / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    change(document["config"]["mlops:spec"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def worktrees(repo: Path) -> int:
    return run_git(repo, "worktree", "list", "--porcelain").count("worktree ")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return make_repo(tmp_path_factory.mktemp("diff"))


def test_selection_follows_git_changes(tmp_path):
    repo = make_repo(tmp_path)
    head = run_git(repo, "rev-parse", "HEAD").strip()
    assert select_stacks(repo, head, None).stacks == []
    (repo / "stacks" / "Pulumi.aws-dev.yaml").write_text((repo / "stacks" / "Pulumi.aws-dev.yaml").read_text() + "\n")
    (repo / "stacks" / "Pulumi.gcp-dev.yaml").unlink()
    shutil.copy(repo / "stacks" / "Pulumi.aws-dev.yaml", repo / "stacks" / "Pulumi.team-aws-dev.yaml")
    got = {s.name: (s.status, s.base_path, s.path is not None) for s in select_stacks(repo, head, None).stacks}
    assert got == {
        "aws-dev": ("modified", "stacks/Pulumi.aws-dev.yaml", True),
        "gcp-dev": ("removed", "stacks/Pulumi.gcp-dev.yaml", False),
        "team-aws-dev": ("added", None, True),
    }


def test_a_code_change_selects_every_stack(tmp_path):
    repo = make_repo(tmp_path)
    head = run_git(repo, "rev-parse", "HEAD").strip()
    (repo / "infra" / "data" / "catalog.yaml").write_text((repo / "infra" / "data" / "catalog.yaml").read_text() + "\n")
    selection = select_stacks(repo, head, None)
    assert selection.code_changed == ["infra/data/catalog.yaml"]
    assert len(selection.stacks) == len(list((repo / "stacks").glob("Pulumi.*.yaml")))
    assert "every stack" in selection.note


def test_unknown_base_ref_is_a_usage_error(repo):
    with pytest.raises(DiffError, match="not a commit"):
        diff("no-such-branch", root=repo)


def test_unknown_stack_is_a_usage_error(repo):
    with pytest.raises(DiffError, match="no stack file"):
        diff("HEAD", ["nope-aws-dev"], root=repo)


# ---- the whole diff: base planned in a worktree with its own code, working tree in process ----


@pytest.fixture(scope="module")
def changed(repo):
    def more_and_bigger(spec):
        spec["access"]["data_scientists"].append({"name": "bob", "principal": "arn:aws:iam::123456789012:role/Bob"})
        spec["budget"] = {"monthly_usd": 500, "alert_thresholds_percent": [50, 90, 100]}

    def new_team(spec):
        spec["team"] = "payments-risk"

    edit_spec(repo, "aws-dev", more_and_bigger)
    edit_spec(repo, "aws-staging", new_team)
    report = diff("HEAD", root=repo, in_process=True)
    return report, {s.stack: s for s in report.stacks}


def test_only_changed_stacks_are_planned(changed):
    report, stacks = changed
    assert set(stacks) == {"aws-dev", "aws-staging"} and all(s.status == "modified" for s in stacks.values())
    assert report.code_changed == [] and diff_exit_code(report) == 0


def test_new_data_scientist_adds_a_user_profile(changed):
    _, stacks = changed
    created = [(r.type, r.name) for r in stacks["aws-dev"].resources if r.action == "create"]
    assert ("aws:sagemaker/userProfile:UserProfile", "studio-user-bob") in created


def test_budget_change_is_an_in_place_update(changed):
    _, stacks = changed
    budget = next(r for r in stacks["aws-dev"].resources if r.name == "budget-monthly")
    paths = {c.path: (c.old, c.new) for c in budget.changes}
    assert budget.action == "update"
    assert paths["limitAmount"] == ("300.00", "500.00")
    assert paths["notifications[1].threshold"] == (80, 90)


def test_dev_change_puts_no_data_at_risk(changed):
    _, stacks = changed
    assert stacks["aws-dev"].at_risk == [] and stacks["aws-dev"].count("delete") == 0


def test_team_change_replaces_buckets_as_data_at_risk(changed):
    _, stacks = changed
    staging = stacks["aws-staging"]
    buckets = {r.name: r for r in staging.resources if r.type == BUCKET}
    assert buckets and all(
        r.action == "replace" and r.at_risk and r.replace_paths == ["bucket"] for r in buckets.values()
    ), buckets
    assert all(r.at_risk for r in staging.resources[: len(staging.at_risk)])


def test_cost_before_and_after(changed):
    _, stacks = changed
    dev = stacks["aws-dev"]
    assert dev.cost_before > 0 and dev.cost_after > 0
    assert dev.cost_delta == round(dev.cost_after - dev.cost_before, 2)


def test_markdown_calls_out_data_at_risk_first(changed):
    report, _ = changed
    text = render_diff_markdown(report)
    assert text.startswith(MARKER + "\n")
    risk = text.index("### ⚠ Data at risk")
    assert risk < text.index("| stack | status |") < text.index("<summary><b>aws-dev</b>")
    assert "`datalake-raw`" in text[risk : text.index("| stack | status |")]
    assert "studio-user-bob" in text and "conservative approximation" in text


def test_text_and_json_renderings(changed):
    import json

    report, _ = changed
    text = render_diff_text(report)
    assert text.index("DATA AT RISK") < text.index("aws-dev (stacks/Pulumi.aws-dev.yaml, modified)")
    assert "+ studio-user-bob" in text and "limitAmount" in text
    document = json.loads(render_diff_json(report))
    staging = next(s for s in document["stacks"] if s["stack"] == "aws-staging")
    assert staging["counts"]["replace"] >= 3
    assert any(r["at_risk"] and r["type"] == BUCKET for r in staging["resources"])


def test_the_worktree_is_removed(changed, repo):
    assert worktrees(repo) == 1


def test_the_base_is_planned_with_the_base_code(tmp_path):
    """A price change in the working tree's catalog changes the cost: the base used its own code."""
    repo = make_repo(tmp_path)
    catalog = repo / "infra" / "data" / "catalog.yaml"
    text = catalog.read_text()
    assert "s3_standard_gb_month: { usd: 0.023," in text
    catalog.write_text(text.replace("s3_standard_gb_month: { usd: 0.023,", "s3_standard_gb_month: { usd: 0.23,"))
    report = diff("HEAD", ["aws-dev"], root=repo)
    (stack,) = report.stacks
    assert report.code_changed == ["infra/data/catalog.yaml"]
    assert stack.error is None and stack.resources == []
    assert stack.cost_after > stack.cost_before


def test_a_stack_that_cannot_be_planned_exits_2(tmp_path):
    repo = make_repo(tmp_path)
    edit_spec(repo, "aws-dev", lambda spec: spec.update(cloud="nope"))
    report = diff("HEAD", root=repo, in_process=True)
    assert report.stacks[0].error and diff_exit_code(report) == 2
    assert "could not be planned" in render_diff_markdown(report)
    assert worktrees(repo) == 1
