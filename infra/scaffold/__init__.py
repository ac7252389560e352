"""`mlops new`: scaffold a team stack file that validates, plans and passes `mlops check` as written.

`new_stack(...)` writes `stacks/Pulumi.<team>-<cloud>-<env>.yaml` with the identity the options give
(or the spec of `--from STACK`, adapted to the environment and the guardrails), the environment's
defaults as commented lines, and each guardrail bound next to its field (`render`). It never
overwrites: the file is written to a temporary file and hard-linked into place (`write_new`), which
fails if the name exists. `fleet_specs(n)` generates valid team stacks for benchmarks.
"""

from infra.scaffold.files import write_new
from infra.scaffold.fleet import fleet_specs
from infra.scaffold.new import DEFAULT_REGIONS, new_stack, stack_name
from infra.scaffold.render import render

__all__ = ["DEFAULT_REGIONS", "fleet_specs", "new_stack", "render", "stack_name", "write_new"]
