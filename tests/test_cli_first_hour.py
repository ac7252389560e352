"""Rough edges a new user hit in the first hour: one-line usage errors, Ctrl-C, the project root,
stack-file mistakes that used to validate, and wording."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infra import parallel, stackfile
from infra.cli import app
from infra.stackfile import StackError

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "team": "fraud-detection",
    "cloud": "aws",
    "environment": "dev",
    "region": "us-east-1",
    "owner": "ml@example.com",
    "cost_center": "CC-1",
}


def write(tmp_path: Path, name: str, config: dict) -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


def validate(*args: str):
    result = runner.invoke(app, ["validate", *args])
    return result.exit_code, result.stderr.strip().splitlines()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["bogus"], "usage: No such command 'bogus'. (see `mlops --help`)"),
        (["plan"], "usage: Missing argument 'stack'. (see `mlops plan --help`)"),
        (["bootstrap", "aws", "--bucket", "b"], "usage: Missing option '--region'. (see `mlops bootstrap aws --help`)"),
    ],
)
def test_usage_errors_are_one_line(args, expected):
    result = runner.invoke(app, args, prog_name="mlops")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [expected]


def test_ctrl_c_prints_one_line_and_exits_130(monkeypatch):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("infra.checker.check_stacks", interrupted)
    result = runner.invoke(app, ["check", "aws-dev", "aws-prod"])
    assert result.exit_code == 130
    assert result.stderr == "interrupted\n"


def _slow(item: int) -> int:
    time.sleep(30)
    return item


def _press_ctrl_c_once_workers_run() -> None:
    """What a terminal does on Ctrl-C: SIGINT to every process of the group (workers and parent)."""
    import multiprocessing

    deadline = time.monotonic() + 20
    while len(multiprocessing.active_children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the workers are inside their work, the parent is waiting for results
    for child in multiprocessing.active_children():
        os.kill(child.pid, signal.SIGINT)
    os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="needs fork")
def test_ctrl_c_stops_workers_without_their_tracebacks(capfd):
    import multiprocessing
    import threading

    # As in a fresh `mlops` process: earlier tests may have left another SIGINT handler installed.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    threading.Thread(target=_press_ctrl_c_once_workers_run, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            parallel.run([0, 1], ["aws", "gcp"], _slow, jobs=2)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < 25  # the workers were stopped, not waited for
    assert multiprocessing.active_children() == []
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "Process" not in captured.err


def test_project_root_is_the_nearest_pulumi_yaml(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: mine\nruntime: python\n")
    (tmp_path / "stacks" / "deep").mkdir(parents=True)
    assert stackfile.project_root(tmp_path / "stacks" / "deep") == tmp_path.resolve()
    assert stackfile.stacks_dir(stackfile.project_root(tmp_path)) == tmp_path.resolve() / "stacks"


def test_outside_a_project_names_the_problem_instead_of_using_the_installed_stacks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StackError):
        stackfile.project_root()
    for args in (["--all"], ["aws-dev"]):
        code, lines = validate(*args)
        assert code == 2 and len(lines) == 1 and "no Pulumi.yaml here or in any parent folder" in lines[0]
    stack = write(tmp_path, "team-aws-dev", {"mlops:spec": GOOD})
    assert validate(str(stack))[0] == 0  # a path needs no project


@pytest.mark.parametrize(
    "config, expected",
    [
        (
            {"mlops:spec": GOOD, "aws:region": "eu-west-1"},
            "config.aws:region: 'eu-west-1' differs from mlops:spec.region 'us-east-1'",
        ),
        ({"mlops:spec": GOOD, "mlops:other": 1}, "config.mlops:other: unknown key; this project reads only mlops:spec"),
        (
            {"mlops:spce": GOOD},
            "config.mlops:spce: unknown key; this project reads only mlops:spec; did you mean 'mlops:spec'?",
        ),
        ({"mlops:spec": {**GOOD, "training": 5}}, "mlops:spec.training: must be a mapping (got 5)"),
    ],
)
def test_stack_file_mistakes_fail_validation(tmp_path, config, expected):
    stack = write(tmp_path, "team-aws-dev", config)
    code, lines = validate(str(stack))
    assert code == 2
    assert any(line.startswith(f"{stack}: {expected}") for line in lines), lines
    assert not any("Spec" in line or "instance of" in line for line in lines)


def test_matching_provider_config_is_fine(tmp_path):
    stack = write(tmp_path, "team-aws-dev", {"mlops:spec": GOOD, "aws:region": "us-east-1", "aws:profile": "x"})
    assert validate(str(stack)) == (0, [])


def test_a_mlops_key_unlike_spec_gets_no_did_you_mean(tmp_path):
    _, lines = validate(str(write(tmp_path, "team-aws-dev", {"mlops:spec": GOOD, "mlops:other": 1})))
    assert lines and "did you mean" not in lines[0]


def test_a_folder_is_not_called_a_missing_file():
    code, lines = validate(str(ROOT / "stacks"))
    assert code == 2 and len(lines) == 1 and "is a folder" in lines[0] and "not found" not in lines[0]


@pytest.mark.parametrize("name", ["aws-dev-old", "copy", "aws-prod"])
def test_a_renamed_copy_of_a_reference_stack_is_neither_reference_nor_team_stack(tmp_path, name):
    source = yaml.safe_load((ROOT / "stacks" / "Pulumi.aws-dev.yaml").read_text())
    stack = write(tmp_path, name, source["config"])
    code, lines = validate(str(stack))
    assert code == 2 and len(lines) == 1
    assert f"stack name {name!r} does not match its spec (aws, dev)" in lines[0]
    assert "Pulumi.<team>-aws-dev.yaml" in lines[0]


def test_bootstrap_rejects_another_clouds_region_before_looking_for_credentials(monkeypatch):
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    result = runner.invoke(app, ["bootstrap", "aws", "--bucket", "b", "--region", "westeurope"])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == "bootstrap aws: --region 'westeurope' is not a supported AWS region; it is an Azure region"
    )


def test_preview_prices_the_same_resources_and_names_what_it_cannot_price():
    import json

    from infra.cost import estimate
    from infra.engine import plan_stack

    full, preview = (
        json.loads(runner.invoke(app, ["plan", "aws-prod", "--json", *flag]).stdout)["cost"]
        for flag in ([], ["--preview"])
    )
    assert preview["monthly_usd"] == full["monthly_usd"]
    stack = stackfile.load("aws-prod")
    partial = estimate(plan_stack(stack, preview=True), stack.spec)
    assert partial["monthly_usd"] < full["monthly_usd"]  # what a real `pulumi preview` policy run sees
    assert any("unknown until deploy" in line and "training-pipeline" in line for line in partial["excluded"])


def test_validate_checks_the_budget_against_the_same_estimate_as_check(tmp_path):
    from infra.checker import check_stacks
    from infra.cost import estimate
    from infra.engine import plan_stack

    source = yaml.safe_load((ROOT / "stacks" / "Pulumi.aws-staging.yaml").read_text())
    monthly = estimate(plan_stack(stackfile.load("aws-staging")))["monthly_usd"]
    for budget, valid in ((monthly - 1, False), (monthly + 1, True)):
        source["config"]["mlops:spec"]["budget"]["monthly_usd"] = round(budget)
        stack = write(tmp_path, "aws-staging", source["config"])
        code, lines = validate(str(stack))
        (report,) = check_stacks([stack])
        over = [v for v in report.violations if v["policy"] == "aws-stack-cost-require-within-budget"]
        assert (code == 0) == valid == (not over), (lines, over)
        if not valid:
            assert lines == [
                f"{stack}: mlops:spec.budget.monthly_usd: {round(budget)} USD is below the estimated "
                f"monthly cost of {monthly:.2f} USD (`mlops plan aws-staging` itemizes it); raise "
                "the budget or shrink always-on compute"
            ]


def test_plan_output_on_80_columns():
    from rich.console import Console

    from infra.checker import report_for
    from infra.engine import plan_stack
    from infra.render import print_plan

    stack = stackfile.load("aws-dev")
    plan = plan_stack(stack)
    console = Console(width=80, record=True, file=open(os.devnull, "w"), color_system=None)
    print_plan(plan, console, report_for(plan, stack.spec))
    text = console.export_text()
    tree = text.split("\nOutputs")[0].splitlines()
    assert all(len(line) <= 80 for line in tree)
    assert any(line.endswith("…") and "aws:s3/bucketServerSide" in line for line in tree)  # cut, and says so
    assert "Resource types" not in text  # the tree already names every type
    assert "mock values" in text.split("\nOutputs")[1].splitlines()[0]
    cost = text.split("Estimated monthly cost")[1].splitlines()
    assert "largest items" in cost[0] and "datalake" in text.split("Estimated monthly cost")[1]
    assert any("mlops plan aws-dev --json" in line for line in cost)


def test_diff_shows_the_differing_part_of_long_values():
    from infra.diffing.render import values

    old = {"Statement": [{"Effect": "Allow", "Resource": "arn:aws:s3:::raw-data/*", "Sid": "ReadRaw" + "x" * 40}]}
    new = {"Statement": [{"Effect": "Allow", "Resource": "arn:aws:s3:::raw-data/*", "Sid": "ReadRaw" + "x" * 40 + "y"}]}
    shown_old, shown_new = values(old, new)
    assert shown_old != shown_new and shown_new.endswith('y"}]}') and shown_old.startswith("…")
    assert values("a", "b") == ('"a"', '"b"')


@pytest.mark.parametrize(
    "stack, component, first",
    [
        ("aws-prod", "Serving", "1 Endpoint"),
        ("azure-prod", "Kubernetes", "1 ManagedCluster"),
        ("gcp-prod", "Kubernetes", "1 Cluster"),
        ("azure-prod", "Serving", "1 OnlineEndpoint"),
    ],
)
def test_diagram_labels_lead_with_the_main_resource_and_no_node_is_empty(stack, component, first):
    from infra.engine import plan_stack
    from infra.graph import build_graph

    graph = build_graph(plan_stack(stackfile.load(stack)))
    labels = {node.lines[0]: node.lines for node in graph.nodes}
    assert labels[component][1].startswith(first), labels[component]
    assert all(len(lines) > 1 for lines in labels.values()), [k for k, v in labels.items() if len(v) == 1]
