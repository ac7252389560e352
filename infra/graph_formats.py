"""Graph model of `mlops graph` (infra/graph.py) and its formats: mermaid and dot text, svg/png via graphviz."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field


class GraphError(Exception):
    """A diagram cannot be produced (unknown format, graphviz missing or failing)."""


@dataclass
class Node:
    id: str
    lines: list[str]  # first line is the title
    group: str | None = None  # id of the enclosing subgraph
    stateful: bool = False


@dataclass
class Group:
    id: str
    label: str
    parent: str | None = None


@dataclass
class Graph:
    title: str
    groups: list[Group] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def to_mermaid(graph: Graph) -> str:
    lines = ["flowchart LR"]
    children: dict[str | None, list[Group]] = {}
    for g in graph.groups:
        children.setdefault(g.parent, []).append(g)

    def emit(group: str | None, indent: str) -> None:
        for node in (n for n in graph.nodes if n.group == group):
            label = "<br/>".join(_mermaid_text(line) for line in [f"<b>{node.lines[0]}</b>", *node.lines[1:]])
            lines.append(f'{indent}{node.id}[("{label}")]' if node.stateful else f'{indent}{node.id}["{label}"]')
        for sub in children.get(group, []):
            lines.append(f'{indent}subgraph {sub.id}["{_mermaid_text(sub.label)}"]')
            emit(sub.id, indent + "  ")
            lines.append(f"{indent}end")

    emit(None, "  ")
    lines += [f"  {a} --> {b}" for a, b in graph.edges]
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph) -> str:
    lines = [
        f"digraph {_dot_text(graph.title)} {{",
        f"  label={_dot_text(graph.title)}; labelloc=t;",
        "  rankdir=LR; compound=true; fontname=Helvetica;",
        '  node [shape=box, style="rounded,filled", fillcolor="#f4f6f8", fontname=Helvetica, fontsize=11];',
        '  edge [color="#667788"];',
    ]
    children: dict[str | None, list[Group]] = {}
    for g in graph.groups:
        children.setdefault(g.parent, []).append(g)
    first: dict[str, str] = {}  # cluster -> a node inside it (edge end for lhead/ltail)

    def emit(group: str | None, indent: str) -> list[str]:
        inside = []
        for node in (n for n in graph.nodes if n.group == group):
            label = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in node.lines)
            shape = ', shape=cylinder, fillcolor="#fdf3e1"' if node.stateful else ""
            lines.append(f'{indent}{node.id} [label="{label}"{shape}];')
            inside.append(node.id)
        for sub in children.get(group, []):
            lines.append(f"{indent}subgraph cluster_{sub.id} {{")
            lines.append(f'{indent}  label={_dot_text(sub.label)}; style="rounded"; color="#99aabb";')
            nested = emit(sub.id, indent + "  ")
            lines.append(f"{indent}}}")
            if nested:
                first[sub.id] = nested[0]
            inside.extend(nested)
        return inside

    emit(None, "  ")
    for a, b in graph.edges:
        attrs = []
        if a in first:
            attrs.append(f"ltail=cluster_{a}")
        if b in first:
            attrs.append(f"lhead=cluster_{b}")
        a_node, b_node = first.get(a, a), first.get(b, b)
        if a_node == b_node or a_node not in {n.id for n in graph.nodes} or b_node not in {n.id for n in graph.nodes}:
            continue
        lines.append(f"  {a_node} -> {b_node}" + (f" [{', '.join(attrs)}];" if attrs else ";"))
    return "\n".join(lines + ["}"]) + "\n"


def render_dot_binary(dot_text: str, fmt: str) -> bytes:
    """Render dot text to `fmt` (svg, png) with graphviz; GraphError if it is not installed."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphError(
            f"--format {fmt} needs the graphviz `dot` binary, which is not on PATH: install it "
            "(`apt-get install graphviz` or `brew install graphviz`) or use --format mermaid|dot"
        )
    done = subprocess.run([dot, f"-T{fmt}"], input=dot_text.encode(), capture_output=True)
    if done.returncode != 0:
        raise GraphError(f"dot -T{fmt} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
