"""Conventions of the pack itself: names, metadata, levels, the pack entry point and its configs."""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import pulumi_policy
import pytest
import yaml
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

import policies
from policies.core import DEFAULT_LEVELS, GROUPS, level_for
from policies.waivers import WAIVERS_POLICY

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"^(aws|azure|gcp)(-[a-z0-9]+){3,}$")


def test_policies_are_pulumi_policy_objects_with_unique_names():
    names = [p.name for p in policies.POLICIES]
    assert len(names) == len(set(names))
    assert all(isinstance(p, (ResourceValidationPolicy, StackValidationPolicy)) for p in policies.POLICIES)
    assert names == [r.name for r in policies.RULES] + [WAIVERS_POLICY]


@pytest.mark.parametrize("rule", policies.RULES, ids=lambda r: r.name)
def test_rule_metadata(rule):
    assert NAME.match(rule.name) and rule.name.startswith(f"{rule.cloud}-"), rule.name
    assert rule.group in GROUPS
    assert rule.description.endswith(".") and len(rule.remediation) > 10
    assert rule.severity in ("low", "medium", "high", "critical")
    assert (rule.check is None) != (rule.stack_check is None)
    assert rule.kind == "stack" or rule.types, f"{rule.name} checks no resource types"


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_each_cloud_has_at_least_15_rules_in_every_group(cloud):
    rules = [r for r in policies.RULES if r.cloud == cloud]
    assert len(rules) >= 15
    assert {r.group for r in rules} == set(GROUPS)
    assert any(r.kind == "stack" for r in rules)


def test_levels_follow_the_design_table():
    for rule in policies.RULES:
        expected = DEFAULT_LEVELS[rule.group]
        assert {env: level_for(rule, env) for env in ("dev", "staging", "prod")} == expected
    assert (
        DEFAULT_LEVELS["cost"]
        == DEFAULT_LEVELS["tagging"]
        == {"dev": "advisory", "staging": "mandatory", "prod": "mandatory"}
    )
    assert set(DEFAULT_LEVELS["iam"].values()) == set(DEFAULT_LEVELS["data-protection"].values()) == {"mandatory"}


def test_pack_config_can_change_levels():
    rule = policies.RULES_BY_NAME["aws-all-resources-require-tags"]
    assert level_for(rule, "dev", {"levels": {"dev": "mandatory"}}) == "mandatory"
    schema = policies.POLICIES[policies.RULES.index(rule)].config_schema
    assert schema.properties["levels"]["default"] == DEFAULT_LEVELS["tagging"]
    assert schema.properties["environment"]["enum"] == ["dev", "staging", "prod"]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_committed_pack_configs_match_the_rules(env):
    committed = json.loads((ROOT / "policies" / "config" / f"{env}.json").read_text())
    assert committed == policies.pack_config(env), (
        f"regenerate policies/config/{env}.json from policies.pack_config({env!r})"
    )


def test_main_wraps_exactly_the_pack_policies(monkeypatch):
    captured = {}

    class FakePack:
        def __init__(self, **kwargs):
            captured.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", FakePack)
    runpy.run_path(str(ROOT / "policies" / "__main__.py"), run_name="__main__")
    assert captured["name"] == "mlops-policies"
    assert captured["policies"] is policies.POLICIES
    assert captured["enforcement_level"] == EnforcementLevel.MANDATORY
    assert set(captured) == {"name", "policies", "enforcement_level"}


def test_policy_pack_project_files():
    project = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    runtime = project["runtime"]
    assert (runtime if isinstance(runtime, str) else runtime["name"]) == "python" and project["description"]
    assert "pulumi-policy" in (ROOT / "policies" / "requirements.txt").read_text()


def test_every_rule_has_a_test():
    sources = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    untested = [
        r.name
        for r in policies.RULES
        if r.name not in sources and r.name.replace(f"{r.cloud}-", "{cloud}-", 1) not in sources
    ]
    assert untested == []


def test_readme_lists_every_rule():
    readme = (ROOT / "policies" / "README.md").read_text()
    table = readme.split("<!-- rules:start -->\n", 1)[1].split("<!-- rules:end -->", 1)[0]
    assert table == policies.rules_markdown(), "regenerate the table with policies.rules_markdown()"
