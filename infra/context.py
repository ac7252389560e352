"""What a cloud program receives: the validated spec and everything derived once per stack."""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.naming import Namer
from infra.spec import Spec
from infra.tagging import cloud_tags, stack_tags


@dataclass(frozen=True)
class StackContext:
    spec: Spec
    stack: str
    names: Namer = field(init=False)
    tags: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", Namer(self.spec.team, self.spec.environment))
        object.__setattr__(self, "tags", cloud_tags(self.spec.cloud, stack_tags(self.spec, self.stack)))

    @property
    def is_prod(self) -> bool:
        return self.spec.environment == "prod"

    def name(self, service: str, purpose: str) -> str:
        return self.names.name(service, purpose)
