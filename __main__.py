"""Pulumi entry point: `pulumi up -s <stack>` reads `mlops:spec` from stacks/Pulumi.<stack>.yaml."""

from infra.program import main

main()
