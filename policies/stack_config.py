"""`python -m policies.stack_config STACK`: the policy-pack config of one stack, with its waivers.

A real preview takes enforcement levels and waivers from the pack config, not from the stack
(CrossGuard gives policies neither the stack's config nor its spec):
    python -m policies.stack_config aws-staging > pack-config.json
    pulumi preview -s aws-staging --policy-pack policies --policy-pack-config pack-config.json
An invalid stack file (an expired waiver, an unknown rule) prints one line per problem and exits 2.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str] | None = None) -> int:
    from infra import stackfile
    from policies import pack_config

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m policies.stack_config STACK (a stack name or a stack file path)", file=sys.stderr)
        return 2
    try:
        stack = stackfile.load(args[0])
    except stackfile.StackError as exc:
        print("\n".join(exc.lines), file=sys.stderr)
        return 2
    print(json.dumps(pack_config(stack.spec.environment, stack.spec.policy.waivers), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
