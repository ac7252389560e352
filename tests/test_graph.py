"""`mlops graph` (infra/graph.py): diagrams of a stack's components, resources and dependencies."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.graph import GraphError, architecture_doc, build_graph, render_graph, transitive_reduction

ROOT = Path(__file__).resolve().parent.parent
CLOUDS = ["aws", "azure", "gcp"]
ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def prod(plan_for, cloud):
    pytest.importorskip(f"pulumi_{cloud.replace('azure', 'azure_native')}")
    return plan_for(f"{cloud}-prod")


def components_of(plan):
    return {r.name for r in plan.resources if not r.custom and r.parent == plan.stack_urn}


def mermaid_ids(text):
    ids = []
    for line in text.splitlines()[1:]:
        line = line.strip()
        if line.startswith("subgraph "):
            ids.append(line.split()[1].split("[")[0])
        elif "[" in line and "-->" not in line:
            ids.append(line.split("[")[0])
    return ids


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_component_is_a_node(plan_for, cloud):
    plan = prod(plan_for, cloud)
    graph = build_graph(plan, "components")
    titles = {n.lines[0] for n in graph.nodes}
    non_empty = {r.parent for r in plan.resources if r.custom}
    non_empty |= {r.parent for r in plan.resources if r.urn in non_empty}  # components of components
    expected = {
        r.type.rsplit(":", 1)[-1]
        for r in plan.resources
        if not r.custom and r.parent == plan.stack_urn and r.urn in non_empty
    }
    assert titles == expected  # every component that holds resources; an empty one is no node


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_component_is_a_subgraph_at_resource_detail(plan_for, cloud):
    plan = prod(plan_for, cloud)
    graph = build_graph(plan, "resources")
    labels = {g.label for g in graph.groups}
    missing = [
        r.name for r in plan.resources if not r.custom and f"{r.type.rsplit(':', 1)[-1]} ({r.name})" not in labels
    ]
    assert missing == []


def test_retraining_depends_on_the_training_pipeline(plan_for):
    plan = prod(plan_for, "aws")
    components = build_graph(plan, "components", reduce=False)
    assert ("c_retraining", "c_training") in components.edges
    resources = build_graph(plan, "resources")
    assert ("g_retraining", "r_training_pipeline") in resources.edges


def test_training_pipeline_depends_on_its_uploaded_code(plan_for):
    graph = build_graph(prod(plan_for, "aws"), "resources")
    assert ("r_training_pipeline", "r_training_code") in graph.edges


def test_serving_model_serves_a_registered_version_not_a_bucket_path(plan_for):
    graph = build_graph(prod(plan_for, "aws"), "resources")
    assert "r_serving_model" in {n.id for n in graph.nodes}
    assert ("r_serving_model", "r_datalake_artifacts") not in graph.edges


def test_no_edges_to_providers_or_parents(plan_for):
    plan = prod(plan_for, "aws")
    graph = build_graph(plan, "resources", collapse=0)
    assert "r_aws" not in {n.id for n in graph.nodes}  # the provider
    assert not any(b == "r_aws" for _, b in graph.edges)
    # a bucket's configuration depends on its bucket, never on its own SecureBucket component
    assert ("r_datalake_raw_versioning", "g_datalake_raw") not in graph.edges
    assert ("r_datalake_raw_versioning", "r_datalake_raw") in graph.edges


def test_siblings_of_one_type_collapse(plan_for):
    graph = build_graph(prod(plan_for, "gcp"), "resources")
    services = [n for n in graph.nodes if n.lines[0].endswith("x Service")]
    assert [n.lines[0] for n in services] == ["21 x Service"]


def test_stateful_resources_are_marked(plan_for):
    graph = build_graph(prod(plan_for, "aws"), "resources")
    stateful = {n.id for n in graph.nodes if n.stateful}
    assert {"r_datalake_raw", "r_encryption_key", "r_registry_repository"} <= stateful
    assert "r_serving_endpoint" not in stateful


@pytest.mark.parametrize("detail", ["components", "resources"])
@pytest.mark.parametrize("cloud", CLOUDS)
def test_mermaid_is_well_formed(plan_for, cloud, detail):
    text = render_graph(prod(plan_for, cloud), "mermaid", detail)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    ids = mermaid_ids(text)
    assert ids and all(ID.match(i) for i in ids) and len(ids) == len(set(ids))
    assert "end" not in ids
    opened = sum(1 for line in lines if line.strip().startswith("subgraph "))
    assert opened == sum(1 for line in lines if line.strip() == "end")
    for line in lines:
        if "-->" in line:
            a, b = (part.strip() for part in line.split("-->"))
            assert a in ids and b in ids, line
    assert all(line.count('"') % 2 == 0 for line in lines)


def test_rendering_is_stable(plan_for):
    plan = prod(plan_for, "azure")
    assert render_graph(plan, "mermaid", "resources") == render_graph(plan, "mermaid", "resources")


def test_transitive_reduction_keeps_reachability():
    edges = [("a", "b"), ("a", "c"), ("b", "c"), ("c", "a")]
    assert transitive_reduction(edges) == [("a", "b"), ("b", "c"), ("c", "a")]
    assert transitive_reduction([("x", "y")]) == [("x", "y")]


def test_unknown_format_and_detail():
    with pytest.raises(GraphError, match="unknown format"):
        render_graph(None, "jpeg")
    with pytest.raises(GraphError, match="unknown detail"):
        build_graph(
            type("P", (), {"resources": [], "by_urn": dict, "stack": "s", "cloud": "aws", "environment": "dev"})(),
            "everything",
        )


@pytest.mark.parametrize("detail", ["components", "resources"])
def test_dot_is_a_digraph_with_clusters(plan_for, detail):
    text = render_graph(prod(plan_for, "gcp"), "dot", detail)
    assert text.startswith('digraph "gcp-prod (gcp, prod)" {') and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    assert ("subgraph cluster_g_datalake {" in text) is (detail == "resources")


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


@needs_dot
@pytest.mark.parametrize("cloud", CLOUDS)
def test_dot_parses_with_graphviz(plan_for, cloud):
    text = render_graph(prod(plan_for, cloud), "dot", "resources")
    done = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True)
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()


@needs_dot
def test_svg_and_png(plan_for):
    plan = prod(plan_for, "aws")
    svg = render_graph(plan, "svg")
    assert isinstance(svg, str) and "<svg" in svg and "DataLake" in svg
    png = render_graph(plan, "png")
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")


def test_svg_without_graphviz_names_the_install(plan_for, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(GraphError, match="apt-get install graphviz.*brew install graphviz"):
        render_graph(prod(plan_for, "aws"), "svg")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_committed_architecture_diagrams_are_current(plan_for, cloud):
    path = ROOT / "docs" / f"architecture-{cloud}.md"
    assert path.read_text(encoding="utf-8") == architecture_doc(prod(plan_for, cloud)), (
        f"{path.name} is out of date: run `.venv/bin/python -m infra.graph docs` and commit docs/"
    )


def test_readme_shows_the_current_diagram_of_each_cloud():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    for cloud in ("aws", "azure", "gcp"):
        doc = (root / "docs" / f"architecture-{cloud}.md").read_text()
        assert re.search(r"```mermaid\n.*?```", doc, re.S).group(0) in readme, cloud
