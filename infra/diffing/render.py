"""`mlops diff` output: text for a terminal, markdown for the PR comment, JSON for tools.
Data at risk (replacing or deleting a resource that holds data) always comes first."""

from __future__ import annotations

import json
from typing import Any

from infra.diffing.model import CREATE, DELETE, REPLACE, UPDATE, DiffReport, ResourceChange, StackDiff
from infra.diffing.rules import DATA_FILE

MARKER = "<!-- mlops-diff -->"
SYMBOL = {CREATE: "+", UPDATE: "~", REPLACE: "+-", DELETE: "-"}
MAX_PROPS = 8  # changed inputs shown per resource
MAX_RESOURCES = 150  # resources listed per stack in markdown (a PR comment holds 65,536 characters)
VALUE_CHARS = 60
NOTE = (
    f"Replacement is predicted from `{DATA_FILE}`, a conservative approximation of the providers' "
    "ForceNew schema (offline, no provider is asked); `pulumi preview` against the real state is the authority."
)


def value(v: Any) -> str:
    if v is None:
        return "(unset)"
    text = json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def values(old: Any, new: Any) -> tuple[str, str]:
    """Both sides of a change; long values are cut around their first difference, so the part
    that changed shows (with "…" where text is left out)."""
    if old is None or new is None:
        return value(old), value(new)
    a, b = (json.dumps(v, sort_keys=True, default=str) for v in (old, new))
    if len(a) <= VALUE_CHARS and len(b) <= VALUE_CHARS:
        return a, b
    same = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    start = max(0, min(same - VALUE_CHARS // 3, max(len(a), len(b)) - VALUE_CHARS))

    def window(text: str) -> str:
        part = text[start : start + VALUE_CHARS]
        return ("…" if start else "") + part + ("…" if start + VALUE_CHARS < len(text) else "")

    return window(a), window(b)


def money(v: float | None) -> str:
    return "-" if v is None else f"${v:,.2f}"


def delta(v: float | None) -> str:
    return "-" if v is None else f"{'+' if v >= 0 else '-'}${abs(v):,.2f}"


def summary(s: StackDiff) -> str:
    if s.error:
        return "could not be planned"
    counts = (
        f"{s.count(CREATE)} to add, {s.count(UPDATE)} to change, {s.count(REPLACE)} to replace, "
        f"{s.count(DELETE)} to delete"
    )
    return counts if s.resources else "no resource changes"


def cost_line(s: StackDiff) -> str:
    return f"{money(s.cost_before)} -> {money(s.cost_after)} per month ({delta(s.cost_delta)})"


def risk_reason(r: ResourceChange) -> str:
    if r.action == DELETE:
        why = r.reason or "removed from the program"
    else:
        why = r.reason or "replace-on-change input(s): " + ", ".join(r.replace_paths)
    parts = [f"{'deleted' if r.action == DELETE else 'replaced'}: {why}"]
    if r.stateful:
        parts.append("it holds data, which is lost unless backed up or aliased")
    if r.protected:
        parts.append("it is protected at base, so `pulumi up` will refuse until `protect` is removed")
    return "; ".join(parts)


def _props(r: ResourceChange) -> list[str]:
    lines = [
        f"{c.path}: {' -> '.join(values(c.old, c.new))}{' (forces replacement)' if c.forces_replacement else ''}"
        for c in r.changes[:MAX_PROPS]
    ]
    if len(r.changes) > MAX_PROPS:
        lines.append(f"... and {len(r.changes) - MAX_PROPS} more")
    return lines


def _header(report: DiffReport) -> list[str]:
    lines = [f"mlops diff against {report.base_ref} ({report.base_commit[:12]})"]
    if report.note:
        lines.append(report.note)
    return lines


def render_diff_text(report: DiffReport) -> str:
    lines = _header(report)
    risks = [(s, r) for s in report.stacks for r in s.at_risk]
    if risks:
        lines += ["", f"⚠ DATA AT RISK ({len(risks)})"]
        lines += [f"  {s.stack}: {r.name} ({r.type}) {risk_reason(r)}" for s, r in risks]
    if not report.stacks:
        lines += ["", "No stack changed."]
    for s in report.stacks:
        lines += ["", f"{s.stack} ({s.path}, {s.status}): {summary(s)}"]
        if s.error:
            lines.append(f"  error: {s.error}")
            continue
        lines.append(f"  cost: {cost_line(s)}")
        if s.mandatory_after is not None and s.mandatory_before != s.mandatory_after:
            lines.append(f"  mandatory policy violations: {s.mandatory_before or 0} -> {s.mandatory_after}")
        for r in s.resources:
            lines.append(f"  {SYMBOL[r.action]:>2} {r.name}  {r.type}" + (f"  ({r.reason})" if r.reason else ""))
            lines += [f"       {p}" for p in _props(r)]
    lines += ["", NOTE]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def render_diff_markdown(report: DiffReport) -> str:
    """The PR comment (starts with MARKER so CI can update it in place)."""
    lines = [MARKER, f"## mlops diff against `{report.base_ref}` ({report.base_commit[:12]})", ""]
    if report.note:
        lines += [f"_{report.note}_", ""]
    risks = [(s, r) for s in report.stacks for r in s.at_risk]
    if risks:
        lines += [
            f"### ⚠ Data at risk ({len(risks)})",
            "",
            "| stack | resource | type | what happens |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {s.stack} | {_code(r.name)} | {_code(r.type)} | {_md(risk_reason(r))} |" for s, r in risks]
        lines.append("")
    if not report.stacks:
        lines += ["No stack changed.", ""]
    else:
        lines += [
            "| stack | status | add | change | replace | delete | cost/month before | after | delta |",
            "| --- | --- | --: | --: | --: | --: | --: | --: | --: |",
        ]
        for s in report.stacks:
            if s.error:
                lines.append(f"| {s.stack} | ❌ could not be planned | | | | | | | |")
                continue
            lines.append(
                f"| {s.stack} | {s.status} | {s.count(CREATE)} | {s.count(UPDATE)} | {s.count(REPLACE)} "
                f"| {s.count(DELETE)} | {money(s.cost_before)} | {money(s.cost_after)} | {delta(s.cost_delta)} |"
            )
        lines.append("")
    for s in report.stacks:
        lines += _stack_markdown(s)
    lines.append(f"<sub>{NOTE}</sub>")
    return "\n".join(lines)


def _stack_markdown(s: StackDiff) -> list[str]:
    if s.error:
        return [f"### ❌ {s.stack}", "", f"`{s.path}`: {_md(s.error)}", ""]
    if not s.resources:
        return []
    lines = [
        f"<details><summary><b>{s.stack}</b> ({s.cloud}, {s.environment}): {summary(s)}; cost "
        f"{_md(cost_line(s))}</summary>",
        "",
    ]
    if s.mandatory_after is not None and s.mandatory_before != s.mandatory_after:
        lines += [
            f"Mandatory policy violations: {s.mandatory_before or 0} -> {s.mandatory_after} (`mlops check {s.stack}`)",
            "",
        ]
    lines += ["| | resource | type | details |", "| --- | --- | --- | --- |"]
    for r in s.resources[:MAX_RESOURCES]:
        details = "<br>".join(_md(p) for p in ([r.reason] if r.reason else []) + _props(r))
        lines.append(f"| {SYMBOL[r.action]} | {_code(r.name)} | {_code(r.type)} | {details} |")
    if len(s.resources) > MAX_RESOURCES:
        lines.append(f"| | ... {len(s.resources) - MAX_RESOURCES} more | | `mlops diff` locally for all |")
    return lines + ["", "</details>", ""]


def render_diff_json(report: DiffReport) -> str:
    return json.dumps(report.document(), indent=2, default=str)
