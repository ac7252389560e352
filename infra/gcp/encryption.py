"""Encryption: the stack's KMS key ring and key, and the service agents allowed to use the key.

A service agent exists only once Google creates it, "at some point after you activate and use the
API" (cloud.google.com/iam/docs/service-agents); granting a role to one that does not exist yet
fails. So every grant names an agent the plan itself brings into existence, after its API is on:
- the Cloud Storage agent through the storage `projects.serviceAccount.get` lookup, which creates
  it (cloud.google.com/storage/docs/getting-service-agent; provider docs of
  `storage.get_project_service_account`: "always prefer this data source over interpolating");
- every other agent through `projects.ServiceIdentity` (services.generateServiceIdentity,
  cloud.google.com/iam/docs/create-service-agents), which waits for its API's enablement.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child, gcp_settings, stateful
from infra.gcp.services import Services

ROTATION_PERIOD = "7776000s"  # 90 days

# Google-managed service agents that encrypt on our behalf, by the domain of their e-mail.
SERVICE_AGENT_DOMAINS: dict[str, str] = {
    "storage": "gs-project-accounts.iam.gserviceaccount.com",
    "artifactregistry": "gcp-sa-artifactregistry.iam.gserviceaccount.com",
    "aiplatform": "gcp-sa-aiplatform.iam.gserviceaccount.com",
    "pubsub": "gcp-sa-pubsub.iam.gserviceaccount.com",
    "container": "container-engine-robot.iam.gserviceaccount.com",
    "compute": "compute-system.iam.gserviceaccount.com",
    "cloudfunctions": "gcf-admin-robot.iam.gserviceaccount.com",
    "run": "serverless-robot-prod.iam.gserviceaccount.com",
}
# Agents created through services.generateServiceIdentity (all but Cloud Storage's): key -> API.
GENERATED: dict[str, str] = {
    "artifactregistry": "artifactregistry.googleapis.com",
    "aiplatform": "aiplatform.googleapis.com",
    "pubsub": "pubsub.googleapis.com",
    "container": "container.googleapis.com",
    "compute": "compute.googleapis.com",
    # A CMEK function: "grant the Cloud Functions, Artifact Registry and Cloud Storage service
    # agents" key access (cloud.google.com/functions/docs/securing/cmek); the function runs on
    # Cloud Run, whose agent reads the encrypted image.
    "cloudfunctions": "cloudfunctions.googleapis.com",
    "run": "run.googleapis.com",
}


def service_agent(project_number: str, agent: str) -> str:
    """`service-<number>@<domain>` for one of SERVICE_AGENT_DOMAINS."""
    return f"service-{project_number}@{SERVICE_AGENT_DOMAINS[agent]}"


class Encryption(pulumi.ComponentResource):
    """Key ring + one symmetric key rotated every 90 days; only the listed agents may use it."""

    key_id: pulumi.Output[str]

    def __init__(self, name: str, ctx: StackContext, services: Services, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:gcp:Encryption", name, None, opts)
        project, region = gcp_settings(ctx).project_id, ctx.spec.region
        apis = services.apis("cloudkms")
        self.key_ring = gcp.kms.KeyRing(
            f"{name}-ring",
            name=ctx.name("gcp_generic", "keys"),
            project=project,
            location=region,
            opts=stateful(ctx, self, apis),
        )
        self.key = gcp.kms.CryptoKey(
            f"{name}-key",
            name=ctx.name("gcp_generic", "data"),
            key_ring=self.key_ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=ROTATION_PERIOD,
            version_template={"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protection_level": "SOFTWARE"},
            opts=stateful(ctx, self),
        )
        self.agents: dict[str, pulumi.Output[str]] = {
            "storage": gcp.storage.get_project_service_account_output(
                project=project, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=services.apis("storage"))
            ).member,
            # BigQuery's encryption agent, likewise created by its lookup (the capture dataset's CMEK).
            "bigquery": gcp.bigquery.get_default_service_account_output(
                project=project, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=services.apis("bigquery"))
            ).member,
        }
        for agent, api in GENERATED.items():
            identity = gcp.projects.ServiceIdentity(
                f"{name}-{agent}-agent", project=project, service=api, opts=child(self, services.apis(agent))
            )
            self.agents[agent] = identity.member
        self.grants = [
            gcp.kms.CryptoKeyIAMMember(
                f"{name}-{agent}-use",
                crypto_key_id=self.key.id,
                role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
                member=member,
                opts=child(self),
            )
            for agent, member in self.agents.items()
        ]
        self.key_id = self.key.id
        self.register_outputs({"key_ring_id": self.key_ring.id, "key_id": self.key.id})
