"""The dependency graph of a stack's resources, as stack policies see it.

Edges are a resource's `dependencies` and `property_dependencies` (what the engine waits for before
creating it), so "A waits for B" is "B is an ancestor of A". Deployability rules ask exactly that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import Any

from policies.core import StackResource, is_unknown


class Graph:
    def __init__(self, resources: Iterable[StackResource]):
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}

    @cached_property
    def _edges(self) -> dict[str, set[str]]:
        return {
            r.urn: {*r.dependencies, *(u for urns in r.property_dependencies.values() for u in urns)}
            for r in self.resources
        }

    def ancestors(self, urn: str) -> set[str]:
        """Every resource `urn` waits for, directly or through others."""
        seen: set[str] = set()
        todo = list(self._edges.get(urn, ()))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self._edges.get(current, ()))
        return seen

    def waits_for(self, later: StackResource, earlier: StackResource) -> bool:
        return earlier.urn in self.ancestors(later.urn)

    def of_type(self, *types: str) -> list[StackResource]:
        return [r for r in self.resources if r.type in types]


def walk(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, leaf) for every leaf of nested inputs."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from walk(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from walk(child, (*path, i))
    else:
        yield path, value


def references(r: StackResource, target: StackResource, key: str | None = None) -> bool:
    """True if `r` takes an input from `target` (under top-level `key`, or any key)."""
    if key is not None:
        return target.urn in r.property_dependencies.get(key, [])
    return any(target.urn in urns for urns in r.property_dependencies.values())


def short(urn: str | None) -> str:
    """The logical name at the end of a URN."""
    return (urn or "").rsplit("::", 1)[-1]


def known_str(value: Any) -> str | None:
    return value if isinstance(value, str) and not is_unknown(value) else None
