"""The Pulumi program: stack config -> validated spec -> the cloud's `deploy(ctx)` -> exports.

`__main__.py` (real `pulumi up`) and the offline engine run this same `main()`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pulumi

from infra.context import StackContext
from infra.spec import Spec
from infra.stackfile import SPEC_KEY, StackError, validate_spec
from infra.tagging import stack_tags, tag_transformation

Deploy = Callable[[StackContext], dict]


class CloudUnavailable(Exception):
    """The stack's cloud cannot be planned here: its SDK extra is missing or it is not built yet."""


def cloud_entry(cloud: str) -> Deploy:
    """The cloud's `deploy` function, imported only when a stack of that cloud is run."""
    try:
        module = importlib.import_module(f"infra.{cloud}.program")
    except ModuleNotFoundError as exc:
        if exc.name == f"infra.{cloud}.program":
            raise CloudUnavailable(f"the {cloud} architecture is not implemented yet") from None
        if exc.name and exc.name.split(".")[0].startswith("pulumi_"):
            raise CloudUnavailable(
                f"{cloud} stacks need the {exc.name.split('.')[0].replace('_', '-')} SDK: "
                f"pip install 'mlops-platform[{cloud}]'"
            ) from None
        raise
    return module.deploy


def main() -> None:
    stack = pulumi.get_stack()
    raw = pulumi.Config("mlops").require_object("spec")
    try:
        spec = validate_spec(raw, f"stacks/Pulumi.{stack}.yaml")
    except StackError as exc:
        raise pulumi.RunError(str(exc)) from None
    run(spec, stack)


SERVING_WAITS = "none: serving waits for a first approved model version (mlops promote, then pulumi up)"


def serving_model_version(spec: Spec) -> str | None:
    """The stack output that says what is served: the version ref, the day-0 notice, or None
    when the stack has no serving at all."""
    if not spec.serving.enabled:
        return None
    return spec.serving.model_version.ref if spec.serving.model_version else SERVING_WAITS


def run(spec: Spec, stack: str) -> None:
    deploy = cloud_entry(spec.cloud)
    pulumi.runtime.register_stack_transformation(tag_transformation(spec.cloud, stack_tags(spec, stack)))
    outputs = deploy(StackContext(spec, stack))
    outputs["serving_model_version"] = serving_model_version(spec)
    for key, value in outputs.items():
        pulumi.export(key, value)


__all__ = ["SERVING_WAITS", "SPEC_KEY", "CloudUnavailable", "cloud_entry", "main", "run", "serving_model_version"]
