"""DeployedModel: the served model version on the stack's Vertex AI endpoint.

pulumi-gcp has no resource for deploying a model to an endpoint (the Terraform provider it is
bridged from lacks `deployModel`), so this is a Pulumi dynamic resource over the Vertex REST API,
run by `pulumi up` with the deployer's own credentials (google-auth application default):
- create: `endpoints.deployModel` of `serving.model_version` on dedicated machines
  (`serving.size_class`, `min_replicas`..`max_replicas`) as the serving account, 100 % traffic;
- update (a promoted version, other machines or replica bounds): deploy the new one first, move all
  traffic to it only when its deployment operation has succeeded, then undeploy the old one -- the
  old version serves until the new one is up, and a failed deploy leaves it serving (rollback);
- delete: `endpoints.undeployModel`.
Outputs: `deployed_model_id`, and `service_attachment` for private (Private Service Connect)
endpoints, which the stack's consumer forwarding rule connects to.
"""

from __future__ import annotations

import time
from typing import Any

import pulumi
import pulumi.dynamic

POLL_SECONDS = 15
DEPLOY_TIMEOUT_SECONDS = 3600


def _session() -> Any:  # pragma: no cover - real credentials at `pulumi up`
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return AuthorizedSession(credentials)


def _base(region: str) -> str:
    return f"https://{region}-aiplatform.googleapis.com/v1"


def _wait(session: Any, region: str, operation: dict, sleep=time.sleep) -> dict:
    deadline = time.monotonic() + DEPLOY_TIMEOUT_SECONDS
    while not operation.get("done"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{operation.get('name')} did not finish in {DEPLOY_TIMEOUT_SECONDS} s")
        sleep(POLL_SECONDS)
        response = session.get(f"{_base(region)}/{operation['name']}", timeout=60)
        response.raise_for_status()
        operation = response.json()
    if "error" in operation:
        raise RuntimeError(f"Vertex AI operation failed: {operation['error']}")
    return operation.get("response", {})


def deploy_request(props: dict) -> dict:
    return {
        "deployedModel": {
            "model": props["model_version"],
            "displayName": props["display_name"],
            "serviceAccount": props["service_account"],
            "dedicatedResources": {
                "machineSpec": {"machineType": props["machine_type"]},
                "minReplicaCount": int(props["min_replicas"]),
                "maxReplicaCount": int(props["max_replicas"]),
            },
        },
        "trafficSplit": {"0": 100},
    }


def _service_attachment(session: Any, props: dict, deployed_model_id: str) -> str:
    response = session.get(f"{_base(props['region'])}/{props['endpoint']}", timeout=60)
    response.raise_for_status()
    for deployed in response.json().get("deployedModels", []):
        if deployed.get("id") == deployed_model_id:
            return (deployed.get("privateEndpoints") or {}).get("serviceAttachment", "")
    return ""


def deploy(session: Any, props: dict, sleep=time.sleep) -> dict:
    response = session.post(
        f"{_base(props['region'])}/{props['endpoint']}:deployModel", json=deploy_request(props), timeout=60
    )
    response.raise_for_status()
    deployed = _wait(session, props["region"], response.json(), sleep)["deployedModel"]["id"]
    return {**props, "deployed_model_id": deployed, "service_attachment": _service_attachment(session, props, deployed)}


def undeploy(session: Any, props: dict, sleep=time.sleep) -> None:
    response = session.post(
        f"{_base(props['region'])}/{props['endpoint']}:undeployModel",
        json={"deployedModelId": props["deployed_model_id"]},
        timeout=60,
    )
    if response.status_code == 404:
        return  # already gone
    response.raise_for_status()
    _wait(session, props["region"], response.json(), sleep)


DEPLOYMENT_KEYS = ("model_version", "machine_type", "min_replicas", "max_replicas", "service_account")


class DeployedModelProvider(pulumi.dynamic.ResourceProvider):
    def create(self, props: dict) -> pulumi.dynamic.CreateResult:
        outs = deploy(_session(), props)
        return pulumi.dynamic.CreateResult(id_=outs["deployed_model_id"], outs=outs)

    def diff(self, _id: str, olds: dict, news: dict) -> pulumi.dynamic.DiffResult:
        changed = [k for k in DEPLOYMENT_KEYS if str(olds.get(k)) != str(news.get(k))]
        replaced = [k for k in ("endpoint", "region") if olds.get(k) != news.get(k)]
        return pulumi.dynamic.DiffResult(
            changes=bool(changed or replaced), replaces=replaced, delete_before_replace=False
        )

    def update(self, _id: str, olds: dict, news: dict) -> pulumi.dynamic.UpdateResult:
        session = _session()
        outs = deploy(session, news)  # the new version takes the traffic only once it is up
        undeploy(session, olds)
        return pulumi.dynamic.UpdateResult(outs=outs)

    def delete(self, _id: str, props: dict) -> None:
        undeploy(_session(), props)


class DeployedModel(pulumi.dynamic.Resource):
    deployed_model_id: pulumi.Output[str]
    service_attachment: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        endpoint: pulumi.Input[str],
        region: str,
        model_version: str,
        display_name: str,
        machine_type: str,
        min_replicas: int,
        max_replicas: int,
        service_account: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(
            DeployedModelProvider(),
            name,
            {
                "endpoint": endpoint,
                "region": region,
                "model_version": model_version,
                "display_name": display_name,
                "machine_type": machine_type,
                "min_replicas": min_replicas,
                "max_replicas": max_replicas,
                "service_account": service_account,
                "deployed_model_id": None,
                "service_attachment": None,
            },
            opts,
        )
