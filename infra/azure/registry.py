"""Registry: the Azure Container Registry for training and serving images (Entra ID only)."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import containerregistry

from infra.azure.base import stateful
from infra.context import StackContext


def registry_sku(ctx: StackContext) -> str:
    """Premium wherever the network is private (only Premium can turn public access off and take
    private endpoints): staging and prod; Basic for public dev stacks."""
    return "Premium" if ctx.spec.network.mode == "private" else "Basic"


class Registry(pulumi.ComponentResource):
    """`registry_id`, `login_server`."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        resource_group_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:Registry", name, None, opts)
        sku = registry_sku(ctx)
        premium = sku == "Premium"
        self.registry = containerregistry.Registry(
            f"{name}-acr",
            registry_name=ctx.name("azure_container_registry", "images"),
            resource_group_name=resource_group_name,
            location=ctx.spec.region,
            sku={"name": sku},
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            # Network rules and private endpoints exist only on Premium: below it the registry is
            # reachable publicly but only with Entra ID tokens (admin user off, no anonymous pull).
            public_network_access="Disabled" if premium else "Enabled",
            network_rule_bypass_options="AzureServices",
            zone_redundancy="Enabled" if premium and ctx.spec.multi_zone else "Disabled",
            policies={
                "retention_policy": {"days": 30, "status": "enabled"},
                "export_policy": {"status": "disabled"},
            }
            if premium
            else None,
            opts=stateful(ctx, self),
        )
        self.registry_id = self.registry.id
        self.login_server = self.registry.login_server
        self.register_outputs({"registry_id": self.registry_id, "login_server": self.login_server})
