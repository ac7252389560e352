"""Computed outputs and invoke results that GCP would return, for offline plans and tests.

`computed_outputs(type_, name, inputs)` gets camelCase inputs exactly as sent; it returns the
values the provider would compute (ids in GCP's resource-name formats, e-mails, self links,
endpoints). `call(token, args)` answers the invokes the program makes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

PROJECT_NUMBER = "123456789012"
DEFAULT_PROJECT = "mock-project"
DEFAULT_REGION = "us-central1"
COMPUTE = "https://www.googleapis.com/compute/v1"


def _digits(name: str, n: int = 19) -> str:
    return str(int(hashlib.sha256(name.encode()).hexdigest(), 16))[:n]


def _uuid(name: str) -> str:
    h = hashlib.sha256(name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _etag(name: str) -> dict:
    return {"etag": "BwY" + hashlib.sha256(name.encode()).hexdigest()[:9], "id": f"{name}-binding"}


def _p(i: dict) -> str:
    return i.get("project") or DEFAULT_PROJECT


def _account(name: str, i: dict) -> dict:
    email = f"{i['accountId']}@{_p(i)}.iam.gserviceaccount.com"
    path = f"projects/{_p(i)}/serviceAccounts/{email}"
    return {
        "email": email,
        "name": path,
        "id": path,
        "uniqueId": _digits(email, 21),
        "member": f"serviceAccount:{email}",
    }


def _bucket(name: str, i: dict) -> dict:
    n = i.get("name") or name
    return {
        "id": n,
        "name": n,
        "url": f"gs://{n}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{n}",
        "project": _p(i),
        "projectNumber": PROJECT_NUMBER,
    }


def _bucket_object(name: str, i: dict) -> dict:
    obj = i.get("name") or name
    return {
        "id": f"{i.get('bucket')}-{obj}",
        "name": obj,
        "md5hash": "bW9jay1tZDU=",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{i.get('bucket')}/o/{obj}",
        "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{i.get('bucket')}/o/{obj}",
    }


def _key_ring(name: str, i: dict) -> dict:
    return {"id": f"projects/{_p(i)}/locations/{i.get('location')}/keyRings/{i.get('name') or name}"}


def _crypto_key(name: str, i: dict) -> dict:
    return {"id": f"{i.get('keyRing')}/cryptoKeys/{i.get('name') or name}", "primaries": []}


# generateServiceIdentity answers with the agent's real domain; most are gcp-sa-<service>.
_AGENT_DOMAINS = {
    "container": "container-engine-robot",
    "compute": "compute-system",
    "monitoring": "gcp-sa-monitoring-notification",
    "cloudfunctions": "gcf-admin-robot",
    "run": "serverless-robot-prod",
}


def _service_identity(name: str, i: dict) -> dict:
    service = str(i.get("service", "")).split(".")[0]
    email = f"service-{PROJECT_NUMBER}@{_AGENT_DOMAINS.get(service, 'gcp-sa-' + service)}.iam.gserviceaccount.com"
    return {"email": email, "member": f"serviceAccount:{email}", "id": f"projects/{_p(i)}/services/{i.get('service')}"}


def _repository(name: str, i: dict) -> dict:
    path = f"projects/{_p(i)}/locations/{i.get('location')}/repositories/{i.get('repositoryId')}"
    return {"id": path, "name": path, "createTime": "2025-01-01T00:00:00Z"}


def _network(name: str, i: dict) -> dict:
    path = f"projects/{_p(i)}/global/networks/{i.get('name') or name}"
    return {"id": path, "selfLink": f"{COMPUTE}/{path}", "gatewayIpv4": "10.0.0.1", "numericId": _digits(path)}


def _subnetwork(name: str, i: dict) -> dict:
    path = f"projects/{_p(i)}/regions/{i.get('region')}/subnetworks/{i.get('name') or name}"
    cidr = str(i.get("ipCidrRange", "10.0.0.0/24"))
    return {"id": path, "selfLink": f"{COMPUTE}/{path}", "gatewayAddress": cidr.split("/")[0][:-1] + "1"}


def _regional(kind: str) -> Callable[[str, dict], dict]:
    def outputs(name: str, i: dict) -> dict:
        path = f"projects/{_p(i)}/regions/{i.get('region')}/{kind}/{i.get('name') or name}"
        return {"id": path, "selfLink": f"{COMPUTE}/{path}"}

    return outputs


def _located(kind: str, key: str = "name", location: str = "region") -> Callable[[str, dict], dict]:
    def outputs(name: str, i: dict) -> dict:
        path = f"projects/{_p(i)}/locations/{i.get(location) or DEFAULT_REGION}/{kind}/{i.get(key) or name}"
        return {"id": path, "name": i.get(key) or path, "createTime": "2025-01-01T00:00:00Z"}

    return outputs


def _tensorboard(name: str, i: dict) -> dict:
    path = f"projects/{PROJECT_NUMBER}/locations/{i.get('region')}/tensorboards/{_digits(name)}"
    return {"id": path, "name": path, "blobStoragePathPrefix": f"cloud-ai-platform-{_uuid(name)}"}


def _endpoint(name: str, i: dict) -> dict:
    path = f"projects/{_p(i)}/locations/{i.get('location')}/endpoints/{i.get('name')}"
    out = {"id": path, "modelDeploymentMonitoringJob": "", "createTime": "2025-01-01T00:00:00Z"}
    if i.get("dedicatedEndpointEnabled"):
        out["dedicatedEndpointDns"] = f"{i.get('name')}.{i.get('location')}-{PROJECT_NUMBER}.prediction.vertexai.goog"
    return out


def _workbench(name: str, i: dict) -> dict:
    path = f"projects/{_p(i)}/locations/{i.get('location')}/instances/{i.get('name') or name}"
    return {
        "id": path,
        "state": "ACTIVE",
        "proxyUri": f"{_digits(name, 12)}-dot-{DEFAULT_REGION}.notebooks.googleusercontent.com",
    }


def _cluster(name: str, i: dict) -> dict:
    path = f"projects/{_p(i)}/locations/{i.get('location')}/clusters/{i.get('name') or name}"
    uid = hashlib.sha256(path.encode()).hexdigest()[:32]
    dns = {
        "endpoint": f"gke-{uid}.{i.get('location')}.gke.goog",
        "allowExternalTraffic": (i.get("controlPlaneEndpointsConfig") or {})
        .get("dnsEndpointConfig", {})
        .get("allowExternalTraffic", False),
    }
    return {
        "id": path,
        "endpoint": "34.118.20.7",
        "masterVersion": "1.31.5-gke.1023000",
        "controlPlaneEndpointsConfig": {**(i.get("controlPlaneEndpointsConfig") or {}), "dnsEndpointConfig": dns},
        "selfLink": f"https://container.googleapis.com/v1/{path}",
        "servicesIpv4Cidr": "10.40.192.0/19",
        "labelFingerprint": "a9dc16a7",
        "operation": "",
    }


def _node_pool(name: str, i: dict) -> dict:
    return {
        "id": f"{i.get('location')}/{i.get('cluster')}/{i.get('name') or name}",
        "instanceGroupUrls": [
            f"{COMPUTE}/projects/{_p(i)}/zones/{i.get('location')}-a/"
            f"instanceGroupManagers/gke-{i.get('name') or name}-grp"
        ],
        "version": "1.31.5-gke.1023000",
    }


def _topic(name: str, i: dict) -> dict:
    return {"id": f"projects/{_p(i)}/topics/{i.get('name') or name}"}


def _function(name: str, i: dict) -> dict:
    fn = i.get("name") or name
    return {
        "id": f"projects/{_p(i)}/locations/{i.get('location')}/functions/{fn}",
        "state": "ACTIVE",
        "environment": "GEN_2",
        "url": f"https://{i.get('location')}-{_p(i)}.cloudfunctions.net/{fn}",
        "updateTime": "2025-01-01T00:00:00Z",
    }


def _job(name: str, i: dict) -> dict:
    return {"id": f"projects/{_p(i)}/locations/{i.get('region')}/jobs/{i.get('name') or name}", "state": "ENABLED"}


def _numbered(kind: str, numbered_project: bool = False) -> Callable[[str, dict], dict]:
    def outputs(name: str, i: dict) -> dict:
        project = PROJECT_NUMBER if numbered_project else _p(i)
        path = f"projects/{project}/{kind}/{_uuid(name) if kind == 'dashboards' else _digits(name)}"
        return {"id": path, "name": path}

    return outputs


def _log_metric(name: str, i: dict) -> dict:
    return {"id": i.get("name") or name}


def _budget(name: str, i: dict) -> dict:
    path = f"billingAccounts/{i.get('billingAccount')}/budgets/{_uuid(name)}"
    return {"id": path, "name": path}


_OUTPUTS: dict[str, Callable[[str, dict], dict]] = {
    "gcp:projects/service:Service": lambda n, i: {"id": f"{_p(i)}/{i.get('service')}"},
    "gcp:projects/serviceIdentity:ServiceIdentity": _service_identity,
    "gcp:kms/keyRing:KeyRing": _key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:storage/bucketObject:BucketObject": _bucket_object,
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:serviceaccount/account:Account": _account,
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": lambda n, i: {
        "name": f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/{i['workloadIdentityPoolId']}",
        "state": "ACTIVE",
    },
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": lambda n, i: {
        "name": (
            f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/{i['workloadIdentityPoolId']}"
            f"/providers/{i['workloadIdentityPoolProviderId']}"
        ),
        "state": "ACTIVE",
    },
    "gcp:projects/iAMCustomRole:IAMCustomRole": lambda n, i: {
        "id": f"projects/{_p(i)}/roles/{i.get('roleId')}",
        "name": f"projects/{_p(i)}/roles/{i.get('roleId')}",
        "deleted": False,
    },
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _subnetwork,
    "gcp:compute/router:Router": _regional("routers"),
    "gcp:compute/address:Address": lambda n, i: {**_regional("addresses")(n, i), "address": "10.40.64.5"},
    # The deployed-model dynamic resource (infra/gcp/deployed_model.py): what deployModel answers.
    "pulumi-python:dynamic:Resource": lambda n, i: (
        {
            "deployed_model_id": _digits(n),
            "service_attachment": (
                f"projects/{_digits(n, 12)}-tp/regions/{str(i.get('endpoint', '')).split('/')[3:4] and str(i.get('endpoint')).split('/')[3]}"
                f"/serviceAttachments/gkedpm-{_digits(n, 20)}"
            ),
        }
        if "model_version" in i
        else {}
    ),
    "gcp:compute/routerNat:RouterNat": lambda n, i: {
        "id": f"{_p(i)}/{i.get('region')}/{i.get('router')}/{i.get('name')}"
    },
    "gcp:vertex/aiMetadataStore:AiMetadataStore": _located("metadataStores"),
    "gcp:vertex/aiTensorboard:AiTensorboard": _tensorboard,
    "gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore": _located("featureOnlineStores"),
    "gcp:vertex/aiEndpoint:AiEndpoint": _endpoint,
    "gcp:workbench/instance:Instance": _workbench,
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:pubsub/topic:Topic": _topic,
    "gcp:cloudfunctionsv2/function:Function": _function,
    "gcp:cloudscheduler/job:Job": _job,
    "gcp:monitoring/notificationChannel:NotificationChannel": _numbered("notificationChannels"),
    "gcp:monitoring/alertPolicy:AlertPolicy": _numbered("alertPolicies"),
    "gcp:monitoring/dashboard:Dashboard": _numbered("dashboards", numbered_project=True),
    "gcp:logging/metric:Metric": _log_metric,
    "gcp:billing/budget:Budget": _budget,
}
_IAM_MEMBERS = ("IAMMember", "IamMember")


def computed_outputs(type_: str, name: str, inputs: dict) -> dict:
    hook = _OUTPUTS.get(type_)
    if hook is not None:
        return hook(name, inputs)
    if type_.endswith(_IAM_MEMBERS):
        return _etag(name)
    return {}


def call(token: str, args: dict) -> dict[str, Any]:
    project = args.get("projectId") or args.get("project") or DEFAULT_PROJECT
    if token == "gcp:organizations/getProject:getProject":
        return {
            "id": f"projects/{project}",
            "projectId": project,
            "number": PROJECT_NUMBER,
            "name": project,
            "labels": {},
            "autoCreateNetwork": True,
        }
    if token == "gcp:organizations/getClientConfig:getClientConfig":
        return {
            "id": "mock",
            "project": project,
            "region": DEFAULT_REGION,
            "zone": f"{DEFAULT_REGION}-a",
            "accessToken": "mock-access-token",
        }
    if token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
        email = f"service-{PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
        return {"id": email, "emailAddress": email, "member": f"serviceAccount:{email}", "project": project}
    if token == "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount":
        email = f"bq-{PROJECT_NUMBER}@bigquery-encryption.iam.gserviceaccount.com"
        return {"id": email, "email": email, "member": f"serviceAccount:{email}", "project": project}
    return {}
