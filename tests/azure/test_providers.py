"""Resource providers a fresh subscription registers once: the list covers every plan, and the
README gives the commands for it."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pulumi_azure_native")

from infra import stackfile  # noqa: E402
from infra.azure.providers import BUILT_IN_MODULES, MODULE_NAMESPACES, required_features, required_providers  # noqa: E402
from tests.azure.helpers import STACKS  # noqa: E402

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("stack", STACKS)
def test_every_planned_resource_type_has_its_provider_listed(plan_for, stack):
    needed = set(required_providers(stackfile.load(stack).spec))
    for r in plan_for(stack).resources:
        if not r.custom or not r.type.startswith("azure-native:"):
            continue
        module = r.type.split(":")[1]
        if module in BUILT_IN_MODULES:
            continue
        assert module in MODULE_NAMESPACES, f"{r.type}: add its namespace to infra/azure/providers.py"
        assert MODULE_NAMESPACES[module] in needed, f"{r.urn} needs {MODULE_NAMESPACES[module]} registered"


def test_cmk_stacks_need_cosmos_db_and_search():
    assert {"Microsoft.DocumentDB", "Microsoft.Search"} <= set(required_providers(stackfile.load("azure-prod").spec))
    assert "Microsoft.DocumentDB" not in required_providers(stackfile.load("azure-dev").spec)


def test_readme_registers_every_provider_and_feature_of_the_reference_stacks():
    text = README.read_text(encoding="utf-8")
    for stack in STACKS:
        spec = stackfile.load(stack).spec
        for namespace in required_providers(spec):
            assert namespace in text, f"README: register {namespace} ({stack})"
        for namespace, feature in required_features(spec):
            assert f"--namespace {namespace} --name {feature}" in text, f"README: feature {feature}"
