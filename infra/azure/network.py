"""Network (private stacks): the VNet with subnets for AKS, private endpoints and the retraining
function, private DNS zones linked to it, and the private endpoints of this stack's services."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, privatedns

from infra.azure.base import child
from infra.azure.definitions import subnet_plan
from infra.context import StackContext

# Private-link group id -> the private DNS zones its endpoint registers in.
ZONES = {
    "vault": ("privatelink.vaultcore.azure.net",),
    "blob": ("privatelink.blob.core.windows.net",),
    "file": ("privatelink.file.core.windows.net",),
    "registry": ("privatelink.azurecr.io",),
    "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
}


@dataclass(frozen=True)
class Target:
    key: str  # stable logical name suffix
    resource_id: pulumi.Input[str]
    group: str  # a key of ZONES


class Network(pulumi.ComponentResource):
    """`vnet_id`, `aks_subnet_id`, `endpoints_subnet_id`, `functions_subnet_id`, `training_subnet_id`,
    `zone_ids`."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        resource_group_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:Network", name, None, opts)
        plan = subnet_plan(ctx.spec.network.cidr)
        self.resource_group_name = resource_group_name
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=ctx.name("azure_generic", "vnet"),
            resource_group_name=resource_group_name,
            location=ctx.spec.region,
            address_space={"address_prefixes": [ctx.spec.network.cidr]},
            subnets=[
                {
                    "name": "aks",
                    "address_prefix": plan.aks,
                    "default_outbound_access": False,
                    "service_endpoints": [{"service": "Microsoft.Storage"}, {"service": "Microsoft.KeyVault"}],
                },
                {
                    "name": "endpoints",
                    "address_prefix": plan.endpoints,
                    "default_outbound_access": False,
                    "private_endpoint_network_policies": "Enabled",
                },
                {
                    "name": "functions",
                    "address_prefix": plan.functions,
                    "default_outbound_access": False,
                    "delegations": [{"name": "flex", "service_name": "Microsoft.App/environments"}],
                },
                {
                    "name": "training",
                    "address_prefix": plan.training,
                    "default_outbound_access": False,
                    "service_endpoints": [{"service": "Microsoft.Storage"}, {"service": "Microsoft.KeyVault"}],
                },
            ],
            opts=child(self),
        )
        self.vnet_id = self.vnet.id
        self.aks_subnet_id = self.vnet.id.apply(lambda v: f"{v}/subnets/aks")
        self.endpoints_subnet_id = self.vnet.id.apply(lambda v: f"{v}/subnets/endpoints")
        self.functions_subnet_id = self.vnet.id.apply(lambda v: f"{v}/subnets/functions")
        self.training_subnet_id = self.vnet.id.apply(lambda v: f"{v}/subnets/training")
        self.zone_ids: dict[str, pulumi.Output[str]] = {}
        for zone in sorted({z for zones in ZONES.values() for z in zones}):
            key = zone.removeprefix("privatelink.").split(".")[0] + "-" + zone.split(".")[-2]
            dns = privatedns.PrivateZone(
                f"{name}-zone-{key}",
                private_zone_name=zone,
                resource_group_name=resource_group_name,
                location="global",
                opts=child(self),
            )
            privatedns.VirtualNetworkLink(
                f"{name}-zone-{key}-link",
                private_zone_name=dns.name,
                resource_group_name=resource_group_name,
                location="global",
                virtual_network={"id": self.vnet.id},
                registration_enabled=False,
                opts=child(self),
            )
            self.zone_ids[zone] = dns.id
        self.register_outputs({"vnet_id": self.vnet_id})


class PrivateEndpoints(pulumi.ComponentResource):
    """One private endpoint (with DNS registration) per Target in the endpoints subnet."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        net: Network,
        targets: list[Target],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:PrivateEndpoints", name, None, opts)
        self.endpoints = {}
        for target in targets:
            endpoint = network.PrivateEndpoint(
                f"{name}-{target.key}",
                private_endpoint_name=ctx.name("azure_generic", f"pe-{target.key}"),
                resource_group_name=net.resource_group_name,
                location=ctx.spec.region,
                subnet={"id": net.endpoints_subnet_id},
                private_link_service_connections=[
                    {"name": target.key, "private_link_service_id": target.resource_id, "group_ids": [target.group]}
                ],
                opts=child(self),
            )
            network.PrivateDnsZoneGroup(
                f"{name}-{target.key}-dns",
                private_dns_zone_group_name="default",
                private_endpoint_name=endpoint.name,
                resource_group_name=net.resource_group_name,
                private_dns_zone_configs=[
                    {"name": z.replace(".", "-"), "private_dns_zone_id": net.zone_ids[z]} for z in ZONES[target.group]
                ],
                opts=child(self),
            )
            self.endpoints[target.key] = endpoint
        self.register_outputs({"endpoint_ids": [e.id for e in self.endpoints.values()]})
