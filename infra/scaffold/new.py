"""`new_stack`: validate the options, copy and adapt `--from STACK`, render, write without overwriting."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from infra import guardrails, stackfile
from infra.scaffold.files import exists_message, write_new
from infra.scaffold.render import IDENTITY, render
from infra.spec import Spec, SpecRuleError
from infra.spec.model import _CLOUD_NAMES as CLOUD_NAMES
from infra.stackfile import StackError, config_path

DEFAULT_REGIONS = {"aws": "us-east-1", "azure": "westeurope", "gcp": "us-central1"}
# Spec paths the options set, for messages that name the option rather than the config path.
OPTIONS = {
    ("team",): "--team",
    ("cloud",): "--cloud",
    ("environment",): "--env",
    ("region",): "--region",
    ("owner",): "--owner",
    ("cost_center",): "--cost-center",
    ("gcp", "project_id"): "--project-id",
    ("gcp", "billing_account"): "--billing-account",
    ("azure", "cosmos_db_object_id"): "--cosmos-db-object-id",
}


def stack_name(team: str, cloud: str, env: str) -> str:
    return f"{team}-{cloud}-{env}"


def new_stack(
    team: str,
    cloud: str,
    env: str,
    from_stack: str | None = None,
    root: Path | None = None,
    *,
    owner: str,
    cost_center: str,
    region: str | None = None,
    project_id: str | None = None,
    billing_account: str | None = None,
    cosmos_db_object_id: str | None = None,
) -> Path:
    """Write a new team stack file and return its path; StackError (one line per problem) if refused."""
    identity = _identity(team, cloud, env, owner, cost_center, region, project_id, billing_account, cosmos_db_object_id)
    name = stack_name(team, cloud, env)
    path = stackfile.stacks_dir(root) / f"Pulumi.{name}.yaml"
    shown = stackfile.display(path)
    if path.exists():
        raise StackError([exists_message(shown)])
    notes: list[str] = []
    raw = identity
    if from_stack is not None:
        raw, notes = _adapted_copy(from_stack, root, identity, region is None)
    spec = stackfile.validate_spec(raw, shown)
    text = render(name, raw, spec, from_stack, notes)
    written = yaml.load(text, Loader=stackfile._UniqueKeyLoader)["config"][stackfile.SPEC_KEY]
    assert written == raw, "the rendered stack file does not read back as its spec"
    stackfile.check_guardrails(name, written, stackfile.validate_spec(written, shown), shown)
    write_new(path, text)
    return path


def _identity(
    team, cloud, env, owner, cost_center, region, project_id, billing_account, cosmos_db_object_id=None
) -> dict:
    """The identity part of the spec from the options, validated by the schema itself."""
    problems = []
    if cloud == "gcp":
        missing = [o for o, v in (("--project-id", project_id), ("--billing-account", billing_account)) if not v]
        if missing:
            problems.append(f"{' and '.join(missing)}: required for a GCP stack (its project and billing account)")
    elif project_id or billing_account:
        problems.append("--project-id/--billing-account: only apply to gcp stacks")
    if cosmos_db_object_id and cloud != "azure":
        problems.append("--cosmos-db-object-id: only applies to azure stacks")
    raw: dict[str, Any] = {
        "team": team,
        "cloud": cloud,
        "environment": env,
        "region": region or DEFAULT_REGIONS.get(cloud, ""),
        "owner": owner,
        "cost_center": cost_center,
    }
    if cloud == "gcp" and not problems:
        raw["gcp"] = {"project_id": project_id, "billing_account": billing_account}
    if cloud == "azure" and cosmos_db_object_id and not problems:
        # Customer-managed-key workspaces (staging, prod) grant this tenant's Cosmos DB app the key.
        raw["azure"] = {"cosmos_db_object_id": cosmos_db_object_id}
    if not problems:
        try:
            Spec.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_option_line(line, raw) for line in stackfile.error_lines(exc))
    if problems:
        raise StackError(problems)
    return raw


def _option_line(line: str, raw: dict) -> str:
    """`mlops:spec.team: invalid format: ... (got 'X')` -> `--team 'X': invalid format: ...`."""
    for loc, option in OPTIONS.items():
        prefix = f"{config_path(loc)}: "
        if line.startswith(prefix):
            value = raw
            for key in loc:
                value = value.get(key) if isinstance(value, dict) else None
            message = line[len(prefix) :]
            message = message.rsplit(" (got ", 1)[0] if message.endswith(")") and " (got " in message else message
            return f"{option} {value!r}: {message}"
    return line


def _with_identity(raw: dict, identity: dict, keep_region: bool) -> dict:
    """`raw` with this team's identity (cloud settings merged, the region kept when asked)."""
    for key, value in identity.items():
        if key == "region" and keep_region:
            continue
        if key in ("gcp", "azure"):
            raw.setdefault(key, {}).update(value)
        else:
            raw[key] = value
    return raw


def _adapted_copy(ref: str, root: Path | None, identity: dict, keep_region: bool) -> tuple[dict, list[str]]:
    """The raw spec of stack `ref` as this team's: identity replaced, then adapted to the environment:
    platform-controlled fields dropped, values outside a guardrail set to its limit (or dropped),
    fields the schema rejects in this environment dropped (so its default applies)."""
    source = stackfile.load(ref, root)
    if source.spec.cloud != identity["cloud"]:
        raise StackError(
            [
                f"--from {ref}: is {CLOUD_NAMES[source.spec.cloud]} stack; "
                f"{CLOUD_NAMES[identity['cloud']]} stack cannot "
                f"be copied from it (use --cloud {source.spec.cloud} or another stack)"
            ]
        )
    raw = _with_identity(copy.deepcopy(source.raw_spec), identity, keep_region)
    env, notes, g = identity["environment"], [], guardrails.rules()
    for path in list(guardrails.set_fields(raw)):
        if not g.may_set(path, env):
            _drop(raw, path)
            notes.append(f"{guardrails.dotted(path)} dropped (set by the platform)")
    if _has(raw, ("serving", "model_version")):
        _drop(raw, ("serving", "model_version"))  # a new stack starts at day 0: it serves nothing yet
        notes.append(
            "serving.model_version dropped (a new stack starts at day 0; mlops promote names its first version)"
        )
    if source.spec.team != identity["team"] and _has(raw, ("access", "data_scientists")):
        _drop(raw, ("access", "data_scientists"))  # another team's people get no access to this stack
        notes.append(f"access.data_scientists dropped (people of team {source.spec.team}); add your own")
    for _ in range(10):
        try:
            spec = Spec.model_validate(raw)
        except ValidationError as exc:
            problems = [(p, "not valid in " + env) for p in _error_paths(exc)]
        else:
            problems = guardrails.check(raw, spec)
            if not problems:
                return raw, _superseded_removed(notes)
        fixed = [_fix(raw, path, env, message) for path, message in problems]
        notes.extend(n for n in fixed if n)
        if not any(fixed):
            break
    shown = stackfile.display(
        stackfile.stacks_dir(root) / f"Pulumi.{stack_name(identity['team'], identity['cloud'], env)}.yaml"
    )
    stackfile.validate_spec(raw, shown)
    raise StackError([f"{shown}: {config_path(p)}: {m}" for p, m in guardrails.check(raw, Spec.model_validate(raw))])


def _superseded_removed(notes: list[str]) -> list[str]:
    """Drop a note about a field when a later note drops a section that holds it."""

    def field(note: str) -> str:
        return note.split(" ", 1)[0]

    return [
        n
        for i, n in enumerate(notes)
        if not any(" dropped " in m and field(n).startswith(field(m) + ".") for m in notes[i + 1 :])
    ]


def _error_paths(exc: ValidationError) -> list[tuple]:
    paths = []
    for error in exc.errors(include_url=False):
        cause = (error.get("ctx") or {}).get("error")
        loc = tuple(error["loc"])
        paths.extend(loc + sub for sub, _ in cause.problems) if isinstance(cause, SpecRuleError) else paths.append(loc)
    return paths


def _fix(raw: dict, path: tuple, env: str, message: str) -> str | None:
    """Bring one field back within its guardrail (its limit) or drop it (its default); None if not in raw."""
    if path[:1] in [(k,) for k in IDENTITY]:
        return None
    if not _has(raw, path):  # a default is rejected: drop the part of the section that brought it in
        present = next((path[:i] for i in range(len(path) - 1, 1, -1) if _has(raw, path[:i])), None)
        if present is None:
            return None
        path = present
    field = guardrails.dotted(path)
    for bound in guardrails.rules().bounds_for(field):
        if "guardrail '" + bound.name in message and bound.kind != "one_of":
            old = _get(raw, path)
            _get(raw, path[:-1])[path[-1]] = bound.limit(env)
            return f"{field} {old} -> {bound.limit(env)} (guardrail '{bound.name}' in {env})"
    _drop(raw, path)
    return (
        f"{field} dropped ({'outside a guardrail' if 'guardrail' in message else message}); the {env} default applies"
    )


def _has(raw: dict, path: tuple) -> bool:
    node: Any = raw
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def _get(raw: dict, path: tuple) -> Any:
    node: Any = raw
    for key in path:
        node = node[key]
    return node


def _drop(raw: dict, path: tuple) -> None:
    parent = _get(raw, path[:-1])
    del parent[path[-1]]
    if not parent and len(path) > 1:  # an emptied section sets nothing: remove it too
        _drop(raw, path[:-1])
