"""Network: the stack's VPC and subnet (pod/service ranges, private Google access, Cloud NAT),
or the existing network named in gcp_settings(ctx)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child, gcp_settings
from infra.gcp.services import Services

PODS_RANGE = "pods"
FLOW_LOG_INTERVAL = "INTERVAL_10_MIN"
FLOW_LOG_SAMPLING = 0.1
SERVICES_RANGE = "services"


@dataclass(frozen=True)
class SubnetPlan:
    nodes: str
    pods: str
    services: str
    master: str  # /28 for the GKE control plane's private endpoint


def subnet_plan(cidr: str) -> SubnetPlan:
    """Split the spec's /16-/20 block: pods get half, nodes a quarter, services an eighth, and the
    control plane the last /28."""
    net = ipaddress.ip_network(cidr)
    pods, rest = net.subnets(prefixlen_diff=1)
    nodes, rest = rest.subnets(prefixlen_diff=1)
    services, tail = rest.subnets(prefixlen_diff=1)
    master = list(tail.subnets(new_prefix=28))[-1]
    return SubnetPlan(str(nodes), str(pods), str(services), str(master))


class Network(pulumi.ComponentResource):
    """`network.network` / `network.subnetwork`: self links (or names) the cluster and Vertex use."""

    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]

    def __init__(self, name: str, ctx: StackContext, services: Services, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:gcp:Network", name, None, opts)
        gcp_spec, region = gcp_settings(ctx), ctx.spec.region
        self.plan = subnet_plan(ctx.spec.network.cidr)
        if gcp_spec.network:
            # Existing network: its subnetwork must carry secondary ranges named "pods" and "services".
            if not gcp_spec.subnetwork:
                raise ValueError(
                    f"stack {ctx.stack}: gcp.network names an existing network but gcp.subnetwork is not set; "
                    "name the subnetwork (with secondary ranges pods and services) the cluster and notebooks use"
                )
            self.network, self.subnetwork = gcp_spec.network, gcp_spec.subnetwork
            self.register_outputs({"network": self.network})
            return
        vpc = gcp.compute.Network(
            f"{name}-vpc",
            name=ctx.name("gcp_generic", "vpc"),
            project=gcp_spec.project_id,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            opts=child(self, services.apis("compute")),
        )
        subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            name=ctx.name("gcp_generic", "nodes"),
            project=gcp_spec.project_id,
            region=region,
            network=vpc.id,
            ip_cidr_range=self.plan.nodes,
            private_ip_google_access=True,
            secondary_ip_ranges=[
                {"range_name": PODS_RANGE, "ip_cidr_range": self.plan.pods},
                {"range_name": SERVICES_RANGE, "ip_cidr_range": self.plan.services},
            ],
            # Flow logs for investigations, at a cost that stays small: 10-minute aggregation, 10 %
            # of flows, no extra metadata (5 s / 50 % / all metadata logs and bills ~60x as much).
            log_config={
                "aggregation_interval": FLOW_LOG_INTERVAL,
                "flow_sampling": FLOW_LOG_SAMPLING,
                "metadata": "EXCLUDE_ALL_METADATA",
            },
            opts=child(self),
        )
        router = gcp.compute.Router(
            f"{name}-router",
            name=ctx.name("gcp_generic", "router"),
            project=gcp_spec.project_id,
            region=region,
            network=vpc.id,
            opts=child(self),
        )
        # Private nodes and notebooks have no external IPs: NAT gives them egress (images, pip).
        gcp.compute.RouterNat(
            f"{name}-nat",
            name=ctx.name("gcp_generic", "nat"),
            project=gcp_spec.project_id,
            region=region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[{"name": subnet.id, "source_ip_ranges_to_nats": ["ALL_IP_RANGES"]}],
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
            opts=child(self),
        )
        self.network, self.subnetwork = vpc.id, subnet.id
        self.network_name = vpc.name
        self.register_outputs({"network": vpc.id, "subnetwork": subnet.id})
