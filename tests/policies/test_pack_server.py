"""The real pack: run policies/__main__.py as Pulumi would and talk to it over the analyzer gRPC API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

import policies
from policies.waivers import WAIVERS_POLICY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def analyzer():
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "policies" / "__main__.py")],
        cwd=ROOT / "policies",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=10)


def _struct(value: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    json_format.ParseDict(value, message)
    return message


def test_pack_serves_every_policy_with_its_config_schema(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "mlops-policies"
    assert [p.name for p in info.policies] == [r.name for r in policies.RULES] + [WAIVERS_POLICY]
    first = info.policies[0]
    assert json_format.MessageToDict(first.configSchema.properties)["levels"]["default"]["dev"] == "mandatory"


def test_pack_reports_a_violation_like_the_offline_checker(analyzer):
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}]})
    request = analyzer_pb2.AnalyzeRequest(
        type="aws:iam/rolePolicy:RolePolicy",
        name="p",
        urn="urn:pulumi:s::mlops::aws:iam/rolePolicy:RolePolicy::p",
        properties=_struct({"role": "r", "policy": policy}),
    )
    response = analyzer.Analyze(request)
    rule = policies.RULES_BY_NAME["aws-iam-policy-deny-wildcard-actions"]
    found = [(d.policyName, d.message, d.enforcementLevel) for d in response.diagnostics]
    assert (
        rule.name,
        f"{rule.description}\npolicy: statement 0 allows wildcard actions ['*']",
        analyzer_pb2.MANDATORY,
    ) in found


def test_pack_config_sets_per_environment_levels(analyzer):
    config = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    analyzer.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={
                name: analyzer_pb2.PolicyConfig(
                    enforcementLevel=analyzer_pb2.ADVISORY
                    if entry["enforcementLevel"] == "advisory"
                    else analyzer_pb2.MANDATORY,
                    properties=_struct({"environment": entry["environment"]}),
                )
                for name, entry in config.items()
            }
        )
    )
    request = analyzer_pb2.AnalyzeRequest(
        type="aws:s3/bucket:Bucket",
        name="b",
        urn="urn:pulumi:s::mlops::aws:s3/bucket:Bucket::b",
        properties=_struct({"bucket": "b", "tags": {"team": "fraud"}}),
    )
    levels = {d.policyName: d.enforcementLevel for d in analyzer.Analyze(request).diagnostics}
    assert levels["aws-all-resources-require-tags"] == analyzer_pb2.ADVISORY


def _configure(analyzer, config: dict) -> None:
    """What `pulumi preview --policy-pack-config <file>` sends: levels apart, the rest as properties."""
    analyzer.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={
                name: analyzer_pb2.PolicyConfig(
                    enforcementLevel=analyzer_pb2.ADVISORY
                    if entry["enforcementLevel"] == "advisory"
                    else analyzer_pb2.MANDATORY,
                    properties=_struct({k: v for k, v in entry.items() if k != "enforcementLevel"}),
                )
                for name, entry in config.items()
            }
        )
    )


def test_pack_applies_waivers_from_the_stack_config_and_reports_them_as_advisory(analyzer):
    rule = "aws-iam-policy-deny-wildcard-actions"
    waiver = {
        "rule": rule,
        "resource": "p",
        "reason": "a test of the waiver path",
        "approved_by": "a@example.com",
        "expires": "2099-01-31",
    }
    _configure(analyzer, policies.pack_config("prod", [waiver]))
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}]})
    props = _struct({"role": "r", "policy": policy})
    urn = "urn:pulumi:s::mlops::aws:iam/rolePolicy:RolePolicy::p"
    response = analyzer.Analyze(
        analyzer_pb2.AnalyzeRequest(type="aws:iam/rolePolicy:RolePolicy", name="p", urn=urn, properties=props)
    )
    assert rule not in {d.policyName for d in response.diagnostics}
    stack = analyzer.AnalyzeStack(
        analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(type="aws:iam/rolePolicy:RolePolicy", name="p", urn=urn, properties=props)
            ]
        )
    )
    reported = [
        (d.policyName, d.enforcementLevel, d.message) for d in stack.diagnostics if d.policyName == WAIVERS_POLICY
    ]
    assert len(reported) == 1 and reported[0][1] == analyzer_pb2.ADVISORY
    assert f"waived {rule}: policy: statement 0 allows wildcard actions ['*']" in reported[0][2]
    _configure(analyzer, policies.pack_config("prod"))  # leave the shared server as the other tests expect
