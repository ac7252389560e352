"""Finding, reading and validating stack files (`stacks/Pulumi.<stack>.yaml`, key `mlops:spec`).

Every problem becomes one line `<file>: mlops:spec.<path>: <what is wrong> (got <value>)`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from infra.spec import Spec, SpecRuleError
from infra.spec.model import PATTERN_HELP

SPEC_KEY = "mlops:spec"
STACK_GLOB = "Pulumi.*.yaml"


class StackError(Exception):
    """One or more problems with stack input; each line names the file and the config path."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class StackFile:
    name: str
    path: Path
    raw_spec: dict
    spec: Spec


def project_root(start: Path | None = None) -> Path:
    """The project the command works on: the nearest directory holding Pulumi.yaml, from `start`
    (the working directory) upwards. Outside any project, StackError says so rather than quietly
    using the stacks of wherever the tool is installed."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    raise StackError(
        [
            f"{here}: no Pulumi.yaml here or in any parent folder; run mlops inside the "
            "project (the folder holding Pulumi.yaml and stacks/), or give a stack file path"
        ]
    )


def stacks_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / "stacks"


def stack_name_of(path: Path) -> str:
    name = path.name
    if name.startswith("Pulumi.") and name.endswith((".yaml", ".yml")):
        return name[len("Pulumi.") :].rsplit(".", 1)[0]
    return path.stem


def resolve(ref: str, root: Path | None = None) -> Path:
    """A STACK argument: a stack name under stacks/, or a path to a stack file anywhere."""
    candidate = Path(ref)
    if ref.endswith((".yaml", ".yml")) or "/" in ref or candidate.is_file():
        return candidate
    return stacks_dir(root) / f"Pulumi.{ref}.yaml"


def all_stack_paths(root: Path | None = None) -> list[Path]:
    return sorted(stacks_dir(root).glob(STACK_GLOB))


def _refuse_duplicate_keys(loader: yaml.constructor.BaseConstructor, node: yaml.MappingNode, deep: bool) -> None:
    """Duplicate keys, which plain YAML loading silently resolves to the last one, are an error."""
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark)
        seen.add(key)


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        _refuse_duplicate_keys(self, node, deep)
        return super().construct_mapping(node, deep=deep)


def _fast_loader() -> type | None:
    """The same loader on libyaml's parser, when PyYAML has it: it reads a stack file ~10x faster
    (a fleet's `check --all` parses every file, and scaffolded files are mostly comments)."""
    if not getattr(yaml, "__with_libyaml__", False):
        return None

    class FastUniqueKeyLoader(yaml.CSafeLoader):
        def construct_mapping(self, node, deep=False):
            _refuse_duplicate_keys(self, node, deep)
            return super().construct_mapping(node, deep=deep)

    return FastUniqueKeyLoader


_FastUniqueKeyLoader = _fast_loader()


def _parse_yaml(text: str):
    if _FastUniqueKeyLoader is not None:
        try:
            return yaml.load(text, Loader=_FastUniqueKeyLoader)
        except yaml.YAMLError:
            pass  # problems are worded by the pure-Python parser, the same with or without libyaml
    return yaml.load(text, Loader=_UniqueKeyLoader)


def display(path: Path) -> str:
    """`path` as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _did_you_mean(key: str) -> str:
    name = key.removeprefix("mlops:")  # compare what follows the shared namespace
    return f"; did you mean {SPEC_KEY!r}?" if difflib.get_close_matches(name, ["spec"], n=1, cutoff=0.6) else ""


def read_raw_spec(path: Path) -> dict:
    """The `mlops:spec` mapping of a stack file, or StackError naming what is wrong."""
    return read_config(path)[SPEC_KEY]


def read_config(path: Path) -> dict:
    """The `config:` mapping of a stack file holding a `mlops:spec` mapping, or StackError."""
    shown = display(path)
    if path.is_dir():
        raise StackError(
            [
                f"{shown}: is a folder; give a stack file (Pulumi.<stack>.yaml) or a stack name, "
                "or --all for every stack in stacks/"
            ]
        )
    if not path.is_file():
        hint = ""
        if path.parent.is_dir():
            names = [stack_name_of(p) for p in path.parent.glob(STACK_GLOB)]
            close = difflib.get_close_matches(stack_name_of(path), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
        raise StackError([f"{shown}: stack file not found{hint}"])
    try:
        document = _parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise StackError([f"{shown}: {where}malformed YAML: {problem}"]) from None
    except UnicodeDecodeError:
        raise StackError([f"{shown}: not a UTF-8 text file"]) from None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise StackError([f"{shown}: config: a stack file needs a top-level `config:` mapping holding `{SPEC_KEY}`"])
    config = document["config"]
    problems = [
        f"{shown}: config.{key}: unknown key; this project reads only {SPEC_KEY}{_did_you_mean(key)}"
        for key in config
        if isinstance(key, str) and key.startswith("mlops:") and key != SPEC_KEY
    ]
    if SPEC_KEY not in config:
        problems.append(f"{shown}: config.{SPEC_KEY}: missing; put the stack spec under `config: {{{SPEC_KEY}: ...}}`")
    elif not isinstance(config[SPEC_KEY], dict):
        problems.append(f"{shown}: {SPEC_KEY}: must be a mapping (got {_show(config[SPEC_KEY])})")
    if problems:
        raise StackError(problems)
    return config


def load(ref: str | Path, root: Path | None = None) -> StackFile:
    """Read and validate a stack file; a team stack must also keep within the platform guardrails."""
    path = resolve(str(ref), root)
    config = read_config(path)
    raw = config[SPEC_KEY]
    name, shown = stack_name_of(path), display(path)
    spec = validate_spec(raw, shown)
    check_provider_config(config, spec, shown)
    check_stack_name(name, spec, shown)
    check_guardrails(name, raw, spec, shown)
    check_waiver_rules(spec, shown)
    return StackFile(name, path, raw, spec)


def check_waiver_rules(spec: Spec, shown: Path | str) -> None:
    """StackError for waivers naming no rule of the stack's cloud in the policy pack."""
    if not spec.policy.waivers:
        return
    from policies import RULES_BY_NAME

    names = [n for n, rule in RULES_BY_NAME.items() if rule.cloud == spec.cloud]
    lines = []
    for i, waiver in enumerate(spec.policy.waivers):
        if waiver.rule not in names:
            close = difflib.get_close_matches(waiver.rule, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; see policies/README.md for the {spec.cloud} rules"
            lines.append(
                f"{shown}: {config_path(('policy', 'waivers', i, 'rule'))}: no {spec.cloud} policy rule "
                f"is named {waiver.rule!r}{hint}"
            )
    if lines:
        raise StackError(lines)


def check_stack_name(name: str, spec: Spec, shown: str) -> None:
    """A stack is a reference stack `<cloud>-<env>` or a team stack `<team>-<cloud>-<env>`, named
    after its spec: a renamed copy (`aws-prod-old`, or aws-dev's spec in Pulumi.aws-prod.yaml) is
    neither, and would otherwise be judged by the wrong rules."""
    suffix = f"{spec.cloud}-{spec.environment}"
    if name == suffix or (name.endswith(f"-{suffix}") and name != f"-{suffix}"):
        return
    raise StackError(
        [
            f"{shown}: stack name {name!r} does not match its spec ({spec.cloud}, {spec.environment}): "
            f"name the file Pulumi.{suffix}.yaml (reference stack) or Pulumi.<team>-{suffix}.yaml "
            "(team stack)"
        ]
    )


# Provider settings the spec owns: each program configures its provider from the spec, so a
# different value here would only steer resources created outside it (and mislead the reader).
_PROVIDER_KEYS = {
    "aws:region": ("region",),
    "azure-native:location": ("region",),
    "gcp:region": ("region",),
    "gcp:project": ("gcp", "project_id"),
}


def check_provider_config(config: dict, spec: Spec, shown: str) -> None:
    problems = []
    for key, spec_path in _PROVIDER_KEYS.items():
        if key not in config:
            continue
        owner: object = spec
        for part in spec_path:
            owner = getattr(owner, part, None)
        if config[key] != owner:
            problems.append(
                f"{shown}: config.{key}: {_show(config[key])} differs from {config_path(spec_path)} "
                f"{_show(owner)}; the stack uses {config_path(spec_path)}: remove {key} or make them equal"
            )
    if problems:
        raise StackError(problems)


def check_guardrails(name: str, raw: dict, spec: Spec, shown: Path | str) -> None:
    """StackError with one line per guardrail problem of a team stack (reference stacks are exempt)."""
    from infra import guardrails

    if guardrails.applies_to(name):
        problems = guardrails.check(raw, spec)
        if problems:
            raise StackError([f"{shown}: {config_path(path)}: {message}" for path, message in problems])


def validate_spec(raw: dict, path: Path | str) -> Spec:
    try:
        return Spec.model_validate(raw)
    except ValidationError as exc:
        raise StackError([f"{path}: {line}" for line in error_lines(exc)]) from None


def error_lines(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, SpecRuleError):
            lines.extend(f"{config_path(loc + sub)}: {message}" for sub, message in cause.problems)
            continue
        if loc and loc[-1] == "[key]":  # a mapping key (e.g. a tag name) is itself invalid
            lines.append(f"{config_path(loc[:-1])}: key {_message(error, loc)}")
            continue
        lines.append(f"{config_path(loc)}: {_message(error, loc)}")
    return lines


def config_path(loc: tuple) -> str:
    text = SPEC_KEY
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _message(error: Any, loc: tuple) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"
        return f"unknown key; {hint}"
    if kind == "missing":
        return "required key is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type"):  # pydantic names its class here
        return f"must be a mapping (got {_show(error.get('input'))})"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        pattern = error["ctx"]["pattern"]
        message = f"invalid format: {PATTERN_HELP.get(pattern, f'must match {pattern}')}"
    return f"{message} (got {_show(error.get('input'))})"


def _fields_at(loc: tuple) -> list[str]:
    """Field names of the model found by walking `loc` down from Spec (for 'did you mean')."""
    model: type[BaseModel] | None = Spec
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        model = _model_in(field.annotation) if field else None
    return sorted(model.model_fields) if model else []


def _model_in(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found:
            return found
    return None


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
