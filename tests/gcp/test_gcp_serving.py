"""Serving the promoted model version: the deployed-model dynamic resource and the PSC endpoint."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi_gcp")

from infra import stackfile  # noqa: E402
from infra.gcp import deployed_model as dm  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.gcp.helpers import ENDPOINT, one  # noqa: E402

DYNAMIC = "pulumi-python:dynamic:Resource"
ENDPOINT_ID = "projects/p/locations/us-central1/endpoints/123"
PROPS = {
    "endpoint": ENDPOINT_ID,
    "region": "us-central1",
    "model_version": "projects/p/locations/us-central1/models/m@2",
    "display_name": "m",
    "machine_type": "n2-standard-4",
    "min_replicas": 2,
    "max_replicas": 6,
    "service_account": "serving@p.iam.gserviceaccount.com",
}


class Response:
    def __init__(self, body, status=200):
        self.body, self.status_code = body, status

    def json(self):
        return self.body

    def raise_for_status(self):
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")


class FakeVertex:
    """Endpoints whose deployModel operations finish on the first poll."""

    def __init__(self, fail_deploy=False):
        self.calls, self.deployed, self.fail_deploy, self.next_id = [], {}, fail_deploy, 100

    def post(self, url, json, timeout):
        self.calls.append(("POST", url, json))
        if url.endswith(":deployModel"):
            self.next_id += 1
            return Response({"name": f"operations/deploy-{self.next_id}", "done": False})
        self.deployed.pop(json["deployedModelId"], None)
        return Response({"name": "operations/undeploy", "done": True, "response": {}})

    def get(self, url, timeout):
        self.calls.append(("GET", url, None))
        if "/operations/deploy-" in url:
            if self.fail_deploy:
                return Response({"name": "x", "done": True, "error": {"code": 9, "message": "no capacity"}})
            deployed = str(self.next_id)
            self.deployed[deployed] = {"id": deployed, "privateEndpoints": {"serviceAttachment": f"sa-{deployed}"}}
            return Response({"name": "x", "done": True, "response": {"deployedModel": {"id": deployed}}})
        return Response({"deployedModels": list(self.deployed.values())})


@pytest.fixture
def vertex(monkeypatch):
    fake = FakeVertex()
    monkeypatch.setattr(dm, "_session", lambda: fake)
    monkeypatch.setattr(dm.time, "sleep", lambda s: None)
    return fake


def test_create_deploys_the_version_on_the_spec_machines_with_all_traffic(vertex):
    result = dm.DeployedModelProvider().create(dict(PROPS))
    method, url, body = vertex.calls[0]
    assert url == f"https://us-central1-aiplatform.googleapis.com/v1/{ENDPOINT_ID}:deployModel"
    assert body["deployedModel"]["model"] == PROPS["model_version"]
    assert body["deployedModel"]["dedicatedResources"] == {
        "machineSpec": {"machineType": "n2-standard-4"},
        "minReplicaCount": 2,
        "maxReplicaCount": 6,
    }
    assert body["deployedModel"]["serviceAccount"] == PROPS["service_account"] and body["trafficSplit"] == {"0": 100}
    assert result.id == "101" and result.outs["service_attachment"] == "sa-101"


def test_a_promoted_version_rolls_out_before_the_old_one_is_removed(vertex):
    provider = dm.DeployedModelProvider()
    old = provider.create(dict(PROPS)).outs
    new = {**PROPS, "model_version": "projects/p/locations/us-central1/models/m@3"}
    diff = provider.diff("101", old, new)
    assert diff.changes and not diff.replaces
    outs = provider.update("101", old, new).outs
    posts = [(url.rsplit(":", 1)[-1], body) for method, url, body in vertex.calls if method == "POST"]
    assert [p[0] for p in posts] == ["deployModel", "deployModel", "undeployModel"]
    assert posts[-1][1] == {"deployedModelId": "101"} and outs["deployed_model_id"] == "102"


def test_a_failed_rollout_keeps_the_old_version_serving(monkeypatch):
    fake = FakeVertex()
    monkeypatch.setattr(dm, "_session", lambda: fake)
    monkeypatch.setattr(dm.time, "sleep", lambda s: None)
    provider = dm.DeployedModelProvider()
    old = provider.create(dict(PROPS)).outs
    fake.fail_deploy = True
    with pytest.raises(RuntimeError, match="no capacity"):
        provider.update("101", old, {**PROPS, "model_version": "projects/p/locations/us-central1/models/m@3"})
    assert "101" in fake.deployed and not any(url.endswith(":undeployModel") for _, url, _ in fake.calls)


def test_unchanged_inputs_change_nothing(vertex):
    assert not dm.DeployedModelProvider().diff("1", {**PROPS, "deployed_model_id": "1"}, dict(PROPS)).changes


@pytest.mark.parametrize("stack", ["gcp-staging", "gcp-prod"])
def test_the_stack_serves_its_model_version_on_its_endpoint(plan_for, stack):
    plan = plan_for(stack)
    spec = stackfile.load(stack, ROOT).spec
    [deployed] = [r for r in plan.resources if r.type == DYNAMIC and "model_version" in r.inputs]
    endpoint = one(plan, ENDPOINT)
    assert deployed.inputs["endpoint"] == endpoint.outputs["id"]
    assert deployed.inputs["model_version"] == spec.serving.model_version.ref
    assert (deployed.inputs["min_replicas"], deployed.inputs["max_replicas"]) == (
        spec.serving.min_replicas,
        spec.serving.max_replicas,
    )
    assert deployed.inputs["machine_type"] == spec.sku(spec.serving.size_class, spec.serving.sku).name


@pytest.mark.parametrize("stack", ["gcp-staging", "gcp-prod"])
def test_private_endpoints_get_a_consumer_psc_endpoint_in_the_vpc(plan_for, stack):
    plan = plan_for(stack)
    [deployed] = [r for r in plan.resources if r.type == DYNAMIC and "model_version" in r.inputs]
    rule = one(plan, "gcp:compute/forwardingRule:ForwardingRule")
    address = one(plan, "gcp:compute/address:Address")
    assert rule.inputs["target"] == deployed.outputs["service_attachment"] and rule.inputs["loadBalancingScheme"] == ""
    assert rule.inputs["ipAddress"] == address.outputs["id"] and address.inputs["addressType"] == "INTERNAL"
    assert plan.outputs["endpoint_private_ip"] == address.outputs["address"]
