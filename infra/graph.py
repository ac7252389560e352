"""`mlops graph STACK`: a stack's architecture as a diagram, from its offline plan.

Two levels of detail: `components` (one node per top-level component, an edge where any resource of
one depends on a resource of another: readable at a glance, what the README shows) and `resources`
(components as nested subgraphs/clusters, custom resources as nodes; four or more siblings of one
type collapse into one `N x Type` node). An arrow points from a resource to one it depends on
(`dependencies` and `property_dependencies`); edges to providers and to a resource's own ancestors
are omitted. Resources that hold data (infra/data/replace_on_change.yaml `stateful`) are cylinders.
Formats: mermaid and dot text; svg and png through the graphviz `dot` binary.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from infra.engine.plan import Plan, PlannedResource
from infra.graph_formats import Graph, GraphError, Group, Node, render_dot_binary, to_dot, to_mermaid

FORMATS = ("mermaid", "dot", "svg", "png")
DETAILS = ("components", "resources")
COLLAPSE = 4
# Glue types (grants, attachments) named after the main resources in a component's summary.
PLUMBING = re.compile(r"IAM|Iam|RoleAssignment|RolePolicy|Association|Link|Permission|Subscription")
# The resource a component exists for, named first in its summary (a cluster before its pools).
MAIN_TYPES = frozenset(
    {
        "Cluster",
        "ManagedCluster",
        "Endpoint",
        "OnlineEndpoint",
        "AiEndpoint",
        "Domain",
        "Pipeline",
        "Workspace",
        "Instance",
        "Function",
        "WebApp",
        "Topic",
        "ActionGroup",
        "Vpc",
        "Network",
        "VirtualNetwork",
        "Key",
        "CryptoKey",
        "Vault",
        "Repository",
        "Registry",
        "StorageAccount",
        "Bucket",
        "Budget",
    }
)
CLOUD_TITLES = {"aws": "AWS", "azure": "Azure", "gcp": "GCP"}

__all__ = [
    "DETAILS",
    "FORMATS",
    "Graph",
    "GraphError",
    "Group",
    "Node",
    "architecture_doc",
    "build_graph",
    "render_graph",
    "to_dot",
    "to_mermaid",
    "transitive_reduction",
    "write_architecture_docs",
]


def short_type(type_: str) -> str:
    """`aws:s3/bucket:Bucket` -> `Bucket`; `mlops:aws:DataLake` -> `DataLake`."""
    return type_.rsplit(":", 1)[-1]


class _Ids:
    """Stable, unique ids of letters, digits and `_` (valid in mermaid and dot; never `end`)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, prefix: str, text: str) -> str:
        base = f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', text)}"
        candidate, n = base, 2
        while candidate in self.used:
            candidate, n = f"{base}_{n}", n + 1
        self.used.add(candidate)
        return candidate


class _Tree:
    def __init__(self, plan: Plan) -> None:
        from infra.diffing.rules import rules

        self.plan = plan
        self.by_urn = plan.by_urn()
        self.is_stateful = rules().is_stateful
        self.skip = {r.urn for r in plan.resources if r.type.startswith("pulumi:providers:")}

    def ancestors(self, urn: str) -> list[str]:
        found, parent = [], self.by_urn[urn].parent
        while parent in self.by_urn:
            found.append(parent)
            parent = self.by_urn[parent].parent
        return found

    def top(self, urn: str) -> str:
        chain = self.ancestors(urn)
        return chain[-1] if chain else urn

    def dependencies(self, r: PlannedResource) -> list[str]:
        """What `r` depends on, deduplicated: no providers, no ancestors, no descendants."""
        deps = set(r.dependencies)
        for urns in r.property_dependencies.values():
            deps.update(urns)
        own = set(self.ancestors(r.urn))
        return sorted(
            d
            for d in deps
            if d in self.by_urn and d not in self.skip and d not in own and r.urn not in self.ancestors(d)
        )

    def members(self) -> list[PlannedResource]:
        return [r for r in self.plan.resources if r.urn not in self.skip]


def build_graph(plan: Plan, detail: str = "components", collapse: int = COLLAPSE, reduce: bool = True) -> Graph:
    """The diagram's nodes, groups and edges. `collapse`: siblings of one type merged into one node
    from this many on (0: never); `reduce`: at component detail, leave out edges implied by others."""
    if detail not in DETAILS:
        raise GraphError(f"unknown detail {detail!r}: use one of {', '.join(DETAILS)}")
    tree = _Tree(plan)
    graph = Graph(f"{plan.stack} ({plan.cloud}, {plan.environment})")
    return _components(tree, graph, reduce) if detail == "components" else _resources(tree, graph, collapse)


def _summary(resources: list[PlannedResource], tree: _Tree, shown: int = 2) -> str:
    """`1 Endpoint, 1 EndpointConfiguration (5 resources)`: the component's main resource first, then
    data-holding types, then the most frequent."""
    counts = Counter(short_type(r.type) for r in resources)
    stateful = {short_type(r.type) for r in resources if tree.is_stateful(r.type)}
    ordered = sorted(
        counts, key=lambda t: (t not in MAIN_TYPES, t not in stateful, bool(PLUMBING.search(t)), -counts[t], t)
    )
    text = ", ".join(f"{counts[t]} {t}" for t in ordered[:shown])
    return text + (f" ({len(resources)} resources)" if len(ordered) > shown else "")


def _components(tree: _Tree, graph: Graph, reduce: bool) -> Graph:
    ids, node_of = _Ids(), {}
    tops = [r for r in tree.members() if tree.top(r.urn) == r.urn]
    for top in tops:
        inside = [r for r in tree.members() if r.custom and tree.top(r.urn) == top.urn]
        if not top.custom:
            if not inside:  # a component this stack's settings leave empty (e.g. no Workbench in prod)
                continue
            lines = [short_type(top.type), _summary(inside, tree)]
        else:
            lines, inside = [top.name, short_type(top.type)], [top]
        node_of[top.urn] = ids.make("c" if not top.custom else "r", top.name)
        graph.nodes.append(Node(node_of[top.urn], lines, None, any(tree.is_stateful(r.type) for r in inside)))
    edges = set()
    for r in tree.members():
        for d in tree.dependencies(r):
            a, b = tree.top(r.urn), tree.top(d)
            if a != b and a in node_of and b in node_of:
                edges.add((node_of[a], node_of[b]))
    graph.edges = transitive_reduction(sorted(edges)) if reduce else sorted(edges)
    return graph


def transitive_reduction(edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop each edge a -> b whose target is still reachable from a without it (in order, so
    reachability is kept; works with cycles too). `Serving -> Encryption` goes when
    `Serving -> DataLake -> Encryption` remains: the diagram shows layers, not every use."""
    kept = list(edges)
    for edge in list(edges):
        rest = [e for e in kept if e != edge]
        if _reachable(rest, *edge):
            kept = rest
    return kept


def _reachable(edges: list[tuple[str, str]], start: str, goal: str) -> bool:
    out: dict[str, list[str]] = {}
    for a, b in edges:
        out.setdefault(a, []).append(b)
    seen, todo = {start}, [start]
    while todo:
        for nxt in out.get(todo.pop(), []):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def _label(r: PlannedResource, tree: _Tree) -> str:
    parent = tree.by_urn.get(r.parent or "")
    prefix = f"{parent.name}-" if parent is not None else ""
    return r.name[len(prefix) :] if prefix and r.name.startswith(prefix) and r.name != prefix else r.name


def _resources(tree: _Tree, graph: Graph, collapse: int) -> Graph:
    ids, group_of, node_of = _Ids(), {}, {}
    members = tree.members()
    for r in members:
        if not r.custom:
            group_of[r.urn] = ids.make("g", r.name)
            graph.groups.append(Group(group_of[r.urn], f"{short_type(r.type)} ({r.name})", group_of.get(r.parent)))
    siblings = Counter((r.parent, r.type) for r in members if r.custom)
    collapsed: dict[tuple, str] = {}
    for r in members:
        if not r.custom:
            continue
        key = (r.parent, r.type)
        if collapse and siblings[key] >= collapse:
            if key not in collapsed:
                collapsed[key] = ids.make("n", f"{_label(r, tree).split('-')[0]}_{short_type(r.type)}")
                graph.nodes.append(
                    Node(
                        collapsed[key],
                        [f"{siblings[key]} x {short_type(r.type)}"],
                        group_of.get(r.parent),
                        tree.is_stateful(r.type),
                    )
                )
            node_of[r.urn] = collapsed[key]
            continue
        node_of[r.urn] = ids.make("r", r.name)
        graph.nodes.append(
            Node(
                node_of[r.urn], [_label(r, tree), short_type(r.type)], group_of.get(r.parent), tree.is_stateful(r.type)
            )
        )
    edges = set()
    for r in members:
        source = node_of.get(r.urn) or group_of.get(r.urn)
        for d in tree.dependencies(r):
            target = node_of.get(d) or group_of.get(d)
            if source and target and source != target:
                edges.add((source, target))
    graph.edges = sorted(edges)
    return graph


def render_graph(plan: Plan, fmt: str = "mermaid", detail: str = "components") -> str | bytes:
    """The diagram of `plan`: mermaid, dot and svg as text, png as bytes."""
    if fmt not in FORMATS:
        raise GraphError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    graph = build_graph(plan, detail)
    if fmt == "mermaid":
        return to_mermaid(graph)
    dot_text = to_dot(graph)
    if fmt == "dot":
        return dot_text
    rendered = render_dot_binary(dot_text, fmt)
    return rendered.decode() if fmt == "svg" else rendered


# ---- the README diagrams -----------------------------------------------------------------------


def architecture_doc(plan: Plan) -> str:
    """docs/architecture-<cloud>.md: the prod reference stack at component detail."""
    cloud = CLOUD_TITLES.get(plan.cloud, plan.cloud)
    return (
        f"# {cloud} reference architecture\n\n"
        f"<!-- Generated from stacks/Pulumi.{plan.stack}.yaml by `python -m infra.graph docs`; do not edit. "
        "tests/test_graph.py fails when it is out of date. -->\n\n"
        f"The components of the `{plan.stack}` reference stack. An arrow points from a component to one "
        "whose resources it uses; cylinders hold data (protected and retained on delete in prod). "
        f"`mlops graph {plan.stack} --detail resources` draws every resource.\n\n"
        f"```mermaid\n{render_graph(plan, 'mermaid', 'components')}```\n"
    )


def write_architecture_docs(root: Path) -> list[Path]:
    """docs/architecture-<cloud>.md, and the same diagrams in README.md (the block after the
    paragraph that names `mlops graph <cloud>-prod`)."""
    from infra import stackfile
    from infra.engine import plan_stack

    written = []
    readme_path = root / "README.md"
    readme = readme_path.read_text(encoding="utf-8") if readme_path.is_file() else None
    for cloud in CLOUD_TITLES:
        path = root / "docs" / f"architecture-{cloud}.md"
        path.parent.mkdir(exist_ok=True)
        doc = architecture_doc(plan_stack(stackfile.load(f"{cloud}-prod", root)))
        path.write_text(doc, encoding="utf-8")
        written.append(path)
        block = re.search(r"```mermaid\n.*?```", doc, re.S)
        if readme is not None and block is not None:
            readme = _replace_readme_diagram(readme, cloud, block.group(0))
    if readme is not None:
        readme_path.write_text(readme, encoding="utf-8")
        written.append(readme_path)
    return written


def _replace_readme_diagram(readme: str, cloud: str, block: str) -> str:
    marker = readme.find(f"`mlops graph {cloud}-prod`")
    found = re.compile(r"```mermaid\n.*?```", re.S).search(readme, marker) if marker >= 0 else None
    if found is None:
        return readme
    return readme[: found.start()] + block + readme[found.end() :]


if __name__ == "__main__":  # python -m infra.graph docs (also `make docs`)
    if sys.argv[1:] != ["docs"]:
        sys.exit("usage: python -m infra.graph docs")
    for written in write_architecture_docs(Path(__file__).resolve().parent.parent):
        print(written)
