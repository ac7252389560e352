"""Mocks that answer the program like a real deployment would, with realistic computed outputs.

Generic behaviour lives here; each cloud contributes its own computed outputs and invoke results in
`infra/<cloud>/mocks.py` (functions `computed_outputs(type_, name, inputs)` and
`call(token, args)`), imported only when a stack of that cloud is planned.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pulumi


def cloud_hooks(cloud: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"infra.{cloud}.mocks")
    except ModuleNotFoundError as exc:
        if exc.name == f"infra.{cloud}.mocks":
            return None
        raise


class PlanMocks(pulumi.runtime.Mocks):
    """Echo inputs; add the outputs a provider computes. In preview, computed outputs stay unknown."""

    def __init__(self, cloud: str, preview: bool):
        self.hooks = cloud_hooks(cloud)
        self.preview = preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if self.preview:
            # Inputs whose output shape differs (e.g. Azure identity lists -> maps) are reshaped by
            # the cloud's hooks, or the SDK rejects the echoed value.
            reshape = getattr(self.hooks, "preview_state", None)
            return None, reshape(args.typ, state) if reshape else state
        if self.hooks is not None:
            state.update(self.hooks.computed_outputs(args.typ, args.name, args.inputs))
        state.setdefault("name", args.name)
        return state.get("id") or f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        if self.hooks is not None:
            return self.hooks.call(args.token, args.args), []  # no check failures
        return {}, []
