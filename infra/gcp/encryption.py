"""Encryption: the stack's KMS key ring and key, and the service agents allowed to use the key."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child, stateful
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
}
# Agents that exist only once generated; ServiceIdentity creates them before we bind them.
_GENERATED = {"artifactregistry": "artifactregistry.googleapis.com",
              "aiplatform": "aiplatform.googleapis.com",
              "pubsub": "pubsub.googleapis.com"}


def service_agent(project_number: str, agent: str) -> str:
    """`service-<number>@<domain>` for one of SERVICE_AGENT_DOMAINS."""
    return f"service-{project_number}@{SERVICE_AGENT_DOMAINS[agent]}"


class Encryption(pulumi.ComponentResource):
    """Key ring + one symmetric key rotated every 90 days; only the listed agents may use it."""

    key_id: pulumi.Output[str]

    def __init__(self, name: str, ctx: StackContext, services: Services,
                 project_number: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:gcp:Encryption", name, None, opts)
        project, region = ctx.spec.gcp.project_id, ctx.spec.region
        apis = services.apis("cloudkms")
        self.key_ring = gcp.kms.KeyRing(
            f"{name}-ring", name=ctx.name("gcp_generic", "keys"), project=project, location=region,
            opts=stateful(ctx, self, apis))
        self.key = gcp.kms.CryptoKey(
            f"{name}-key", name=ctx.name("gcp_generic", "data"), key_ring=self.key_ring.id,
            purpose="ENCRYPT_DECRYPT", rotation_period=ROTATION_PERIOD,
            version_template={"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protection_level": "SOFTWARE"},
            opts=stateful(ctx, self))
        identities = [
            gcp.projects.ServiceIdentity(f"{name}-{agent}-agent", project=project, service=api,
                                         opts=child(self, services.apis(agent)))
            for agent, api in _GENERATED.items()
        ]
        self.grants = [
            gcp.kms.CryptoKeyIAMMember(
                f"{name}-{agent}-use", crypto_key_id=self.key.id,
                role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
                member=pulumi.Output.from_input(project_number).apply(
                    lambda n, a=agent: f"serviceAccount:{service_agent(n, a)}"),
                opts=child(self, identities))
            for agent in SERVICE_AGENT_DOMAINS
        ]
        self.key_id = self.key.id
        self.register_outputs({"key_ring_id": self.key_ring.id, "key_id": self.key.id})
