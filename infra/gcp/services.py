"""Services: the project APIs the platform uses, enabled once and never disabled on destroy."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child, gcp_settings

# Short key -> API. Other components depend on the APIs they call by key.
APIS: dict[str, str] = {
    "aiplatform": "aiplatform.googleapis.com",
    "bigquery": "bigquery.googleapis.com",
    "container": "container.googleapis.com",
    "monitoring": "monitoring.googleapis.com",
    "logging": "logging.googleapis.com",
    "artifactregistry": "artifactregistry.googleapis.com",
    "storage": "storage.googleapis.com",
    "cloudkms": "cloudkms.googleapis.com",
    "pubsub": "pubsub.googleapis.com",
    "cloudfunctions": "cloudfunctions.googleapis.com",
    "cloudbuild": "cloudbuild.googleapis.com",
    "run": "run.googleapis.com",
    "eventarc": "eventarc.googleapis.com",
    "cloudscheduler": "cloudscheduler.googleapis.com",
    "billingbudgets": "billingbudgets.googleapis.com",
    "notebooks": "notebooks.googleapis.com",
    "compute": "compute.googleapis.com",
    "iam": "iam.googleapis.com",
    "servicenetworking": "servicenetworking.googleapis.com",
    "cloudresourcemanager": "cloudresourcemanager.googleapis.com",
    "serviceusage": "serviceusage.googleapis.com",
}


class Services(pulumi.ComponentResource):
    """Enables every API in APIS. `services.apis("storage", "cloudkms")` -> resources to depend on."""

    def __init__(self, name: str, ctx: StackContext, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:gcp:Services", name, None, opts)
        project = gcp_settings(ctx).project_id
        self.enabled: dict[str, gcp.projects.Service] = {
            key: gcp.projects.Service(
                f"{name}-{key}",
                project=project,
                service=api,
                # Other stacks or people may use the same APIs: leave them on when this stack goes.
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=child(self),
            )
            for key, api in APIS.items()
        }
        self.register_outputs({"apis": sorted(APIS.values())})

    def apis(self, *keys: str) -> list[pulumi.Resource]:
        return [self.enabled[key] for key in keys]
