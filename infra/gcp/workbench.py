"""Workbench: one private, shielded Vertex AI Workbench instance per data scientist (not in prod)."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child, gcp_settings, zone_of
from infra.gcp.encryption import Encryption
from infra.gcp.identity import Identity
from infra.gcp.network import Network
from infra.gcp.services import Services
from infra.spec.model import Person

DISK_SIZE_GB = 150


def owner_email(person: Person) -> str | None:
    """Workbench owners must be single users: `user:alice@x` -> `alice@x`; groups get none."""
    kind, _, email = person.principal.partition(":")
    return email if kind == "user" else None


class Workbench(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        ctx: StackContext,
        services: Services,
        identity: Identity,
        network: Network,
        encryption: Encryption | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:gcp:Workbench", name, None, opts)
        spec = ctx.spec
        self.instances: dict[str, gcp.workbench.Instance] = {}
        if ctx.is_prod:  # prod data is reached through pipelines, never interactively
            self.register_outputs({})
            return
        machine = spec.sku("cpu-small", None).name
        # The v2 API's diskSizeGb is an int64, which JSON carries as a string: the SDK declares str.
        # One shape for the boot and the data disk (the data disk's type is the boot disk's plus
        # resource_policies, which neither sets).
        disk: gcp.workbench.InstanceGceSetupDataDisksArgsDict = {
            "disk_size_gb": str(DISK_SIZE_GB),
            "disk_type": "PD_BALANCED",
        }
        if encryption:
            disk["disk_encryption"] = "CMEK"
            disk["kms_key"] = encryption.key_id
        depends = (
            services.apis("notebooks", "compute")
            + (encryption.grants if encryption else [])
            + identity.grants["notebooks"]
        )  # the instance runs as notebooks from its first boot
        for person in spec.access.data_scientists:
            email = owner_email(person)
            if email is None:
                continue
            self.instances[person.name] = gcp.workbench.Instance(
                f"{name}-{person.name}",
                name=ctx.name("gcp_generic", f"wb-{person.name}"),
                project=gcp_settings(ctx).project_id,
                location=zone_of(spec.region),
                instance_owners=[email],
                disable_proxy_access=False,
                gce_setup={
                    "machine_type": machine,
                    "disable_public_ip": True,
                    "network_interfaces": [{"network": network.network, "subnet": network.subnetwork}],
                    "service_accounts": [{"email": identity.emails["notebooks"]}],
                    "shielded_instance_config": {
                        "enable_secure_boot": True,
                        "enable_vtpm": True,
                        "enable_integrity_monitoring": True,
                    },
                    "boot_disk": disk,
                    "data_disks": disk,
                    "metadata": {
                        "idle-timeout-seconds": str(spec.training.idle_scale_down_minutes * 60),
                        "notebook-disable-root": "true",
                        "notebook-disable-downloads": "true",
                    },
                },
                opts=child(self, depends),
            )
        self.register_outputs({"instances": sorted(self.instances)})
