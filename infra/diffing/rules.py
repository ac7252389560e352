"""Which input changes force a replacement, and which resources hold data.

Data: `infra/data/replace_on_change.yaml` (a conservative approximation of the providers' ForceNew
schema; see the comment at its top)."""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from importlib import resources

import yaml

DATA_FILE = "infra/data/replace_on_change.yaml"
_FIRST = re.compile(r"^[^.\[]+")


@dataclass(frozen=True)
class Rules:
    defaults: dict[str, tuple[str, ...]]
    types: dict[str, tuple[str, ...]]
    stateful: tuple[str, ...]
    never: frozenset[str]
    azure_not_id: frozenset[str]
    _cache: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def replace_paths(self, type_: str) -> tuple[str, ...]:
        """Input paths of `type_` whose change forces replacement (excluding azure *Name inputs)."""
        if type_ not in self._cache:
            self._cache[type_] = self._replace_paths(type_)
        return self._cache[type_]

    def _replace_paths(self, type_: str) -> tuple[str, ...]:
        provider = type_.split(":", 1)[0]
        paths = list(self.defaults.get(provider, ()))
        for pattern, entries in self.types.items():
            if pattern == type_ or fnmatch.fnmatchcase(type_, pattern):
                paths.extend(entries)
        return tuple(dict.fromkeys(paths))

    def forces_replacement(self, type_: str, path: str) -> bool:
        """Whether a change at input `path` (e.g. `nodeConfig.spot`, `rules[0]`) replaces `type_`."""
        top = _FIRST.match(path)
        top_key = top.group(0) if top else path
        if top_key in self.never:
            return False
        if (
            type_.startswith("azure-native:")
            and top_key.endswith("Name")
            and "." not in path
            and "[" not in path
            and top_key not in self.azure_not_id
        ):
            return True  # a segment of the Azure resource id
        for entry in self.replace_paths(type_):
            if entry == "*" or _covers(entry, path) or _covers(path, entry):
                return True
        return False

    def is_stateful(self, type_: str) -> bool:
        return any(fnmatch.fnmatchcase(type_, pattern) for pattern in self.stateful)


def _covers(prefix: str, path: str) -> bool:
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


@functools.lru_cache(maxsize=1)
def rules() -> Rules:
    text = resources.files("infra").joinpath("data/replace_on_change.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return Rules(
        defaults={k: tuple(v) for k, v in data["defaults"].items()},
        types={k: tuple(v) for k, v in data["types"].items()},
        stateful=tuple(data["stateful"]),
        never=frozenset(data["never"]),
        azure_not_id=frozenset(data["azure_name_inputs_not_in_id"]),
    )
