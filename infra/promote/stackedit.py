"""Set `serving.model_version` in a stack file's text, keeping every other line (and comment) as is.

Stack files are edited as text, not re-dumped YAML, so the reviewed file keeps its comments and
layout and the pull request shows only the promotion. The edit handles block-style mappings (what
`mlops new` and the reference stacks use); a flow-style `serving: {...}` is refused with a message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from infra.stackfile import SPEC_KEY

PROMOTED_MARK = "# Promoted by mlops promote"
_COMMENTED_DEFAULT = re.compile(r"^ *# *model_version: *null *$")
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_:-]*):(?P<rest>.*)$")


class EditError(ValueError):
    """The file's layout cannot be edited in place."""


@dataclass(frozen=True)
class VersionRecord:
    ref: str
    promoted_from: str
    approved_by: str
    approved_at: str

    def lines(self, indent: str) -> list[str]:
        q = json.dumps  # a JSON string is a valid double-quoted YAML scalar
        return [
            f"{indent}{PROMOTED_MARK} from {self.promoted_from}, approved by {self.approved_by} on {self.approved_at}.",
            f"{indent}model_version:",
            f"{indent}  ref: {q(self.ref)}",
            f"{indent}  promoted_from: {q(self.promoted_from)}",
            f"{indent}  approved_by: {q(self.approved_by)}",
            f"{indent}  approved_at: {q(self.approved_at)}",
        ]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _block_end(lines: list[str], start: int) -> int:
    """Index after the block that starts at `start` (a `key:` line): deeper-indented or blank lines."""
    base = _indent(lines[start])
    end = start + 1
    last_content = start
    while end < len(lines):
        line = lines[end]
        if _is_content(line) and _indent(line) <= base:
            break
        if _is_content(line):
            last_content = end
        end += 1
    return last_content + 1


def _child(lines: list[str], start: int, end: int, key: str) -> int | None:
    """Line index of `key:` directly inside the block lines[start] .. end."""
    depth = None
    for i in range(start + 1, end):
        if not _is_content(lines[i]):
            continue
        depth = _indent(lines[i]) if depth is None else depth
        match = _KEY.match(lines[i])
        if match and _indent(lines[i]) == depth and match["key"] == key:
            return i
    return None


def set_model_version(text: str, record: VersionRecord) -> str:
    lines = text.splitlines()
    config = next((i for i, line in enumerate(lines) if line.rstrip() == "config:"), None)
    if config is None:
        raise EditError("no top-level `config:` block")
    spec = _child(lines, config, _block_end(lines, config), SPEC_KEY)
    if spec is None:
        raise EditError(f"no `{SPEC_KEY}:` block under config")
    spec_end = _block_end(lines, spec)
    serving = _child(lines, spec, spec_end, "serving")
    if serving is None:
        indent = " " * next(
            (_indent(lines[i]) for i in range(spec + 1, spec_end) if _is_content(lines[i])), _indent(lines[spec]) + 2
        )
        new = [f"{indent}serving:", *record.lines(indent + "  ")]
        lines[spec_end:spec_end] = new
        return "\n".join(lines) + "\n"
    rest = lines[serving].split(":", 1)[1].strip()
    if rest and not rest.startswith("#"):
        raise EditError("serving is written inline (flow style); write it as a block mapping to promote into it")
    serving_end = _block_end(lines, serving)
    existing = _child(lines, serving, serving_end, "model_version")
    if existing is None:
        depth = next(
            (_indent(lines[i]) for i in range(serving + 1, serving_end) if _is_content(lines[i])),
            _indent(lines[serving]) + 2,
        )
        # The commented default `mlops new` writes (`# model_version: null`) gives way to the value.
        kept = [line for line in lines[serving + 1 : serving_end] if not _COMMENTED_DEFAULT.match(line)]
        lines[serving + 1 : serving_end] = kept + record.lines(" " * depth)
        return "\n".join(lines) + "\n"
    start, end = existing, _block_end(lines, existing)
    while start > 0 and lines[start - 1].strip().startswith(PROMOTED_MARK):
        start -= 1  # replace the previous promotion's note, keep any other comment
    lines[start:end] = record.lines(" " * _indent(lines[existing]))
    return "\n".join(lines) + "\n"
