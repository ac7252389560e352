"""A mock monitor that records every registration exactly as the engine would receive it.

Pulumi's `Mocks.new_resource` hook sees only type, name, inputs and provider; parent,
dependencies, protect and retainOnDelete are on the RegisterResourceRequest, so we subclass the
SDK's MockMonitor and read the request itself.
"""

from __future__ import annotations

from pulumi.runtime.mocks import MockMonitor

from infra.engine.plan import PlannedResource
from infra.engine.values import from_struct

STACK_TYPE = "pulumi:pulumi:Stack"


def _provider_urn(reference: str) -> str | None:
    """A provider reference is `<urn>::<id>`; the URN identifies the provider resource."""
    return reference.rsplit("::", 1)[0] if reference else None


class CapturingMonitor(MockMonitor):
    def __init__(self, mocks):
        super().__init__(mocks)
        self.captured: list[PlannedResource] = []
        self.stack_urn: str | None = None
        self.stack_outputs: dict = {}

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            self.stack_urn = response.urn
            return response
        self.captured.append(
            PlannedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                inputs=from_struct(request.object),
                parent=request.parent or None,
                dependencies=list(request.dependencies),
                provider=_provider_urn(request.provider),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                outputs=from_struct(response.object),
            )
        )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        if request.urn == self.stack_urn:
            self.stack_outputs = from_struct(request.outputs)
        return super().RegisterResourceOutputs(request)
