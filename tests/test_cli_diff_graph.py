"""`mlops graph` and `mlops diff` through the CLI: formats, output files, exit codes."""

import shutil

import pytest
from typer.testing import CliRunner

from infra.cli import app

runner = CliRunner()


def test_graph_prints_mermaid_by_default():
    result = runner.invoke(app, ["graph", "gcp-prod"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("flowchart LR")
    assert "Kubernetes" in result.stdout


def test_graph_dot_at_resource_detail():
    result = runner.invoke(app, ["graph", "azure-dev", "--format", "dot", "--detail", "resources"])
    assert result.exit_code == 0
    assert result.stdout.startswith("digraph") and "subgraph cluster_" in result.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
def test_graph_png_to_a_file(tmp_path):
    target = tmp_path / "aws.png"
    result = runner.invoke(app, ["graph", "aws-dev", "--format", "png", "--output", str(target)])
    assert result.exit_code == 0
    assert target.read_bytes().startswith(b"\x89PNG")


def test_graph_rejects_unknown_format():
    assert runner.invoke(app, ["graph", "aws-dev", "--format", "jpeg"]).exit_code == 2


def test_diff_unknown_ref_is_one_line_exit_2():
    result = runner.invoke(app, ["diff", "no-such-ref-xyz", "aws-dev"])
    assert result.exit_code == 2
    assert result.stderr.startswith("BASE_REF 'no-such-ref-xyz'") and len(result.stderr.strip().splitlines()) == 1
