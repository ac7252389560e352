"""Access: role assignments between this stack's identities and resources, and for its people.

Every grant is a built-in, narrowly scoped role on one resource of this stack (never the resource
group or subscription), with the principal type Azure needs to skip directory look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from infra.azure import roles
from infra.azure.base import Client, child
from infra.context import StackContext


@dataclass(frozen=True)
class Grant:
    """One role assignment: `role` (GUID) for `principal_id` on `scope`."""

    key: str  # stable logical name suffix
    principal_id: pulumi.Input[str]
    principal_type: str  # ServicePrincipal | User | Group
    role: str
    scope: pulumi.Input[str]
    description: str


class Access(pulumi.ComponentResource):
    """Creates one RoleAssignment per Grant; `assignments` maps key -> resource."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        client: Client,
        grants: list[Grant],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:Access", name, None, opts)
        keys = [g.key for g in grants]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"duplicate grant keys {duplicates}: each grant needs a stable, unique key")
        self.assignments = {
            g.key: authorization.RoleAssignment(
                f"{name}-{g.key}",
                principal_id=g.principal_id,
                principal_type=g.principal_type,
                role_definition_id=client.subscription_id.apply(lambda sub, r=g.role: roles.definition_id(sub, r)),
                scope=g.scope,
                description=g.description,
                opts=child(self),
            )
            for g in grants
        }
        self.register_outputs({"assignment_ids": [a.id for a in self.assignments.values()]})


def people_grants(ctx: StackContext, workspace_id, storage_id, vault_id, cluster_id) -> list[Grant]:
    """Data scientists use the workspace and its data; admins also administer vault and cluster."""
    grants: list[Grant] = []
    for person in ctx.spec.access.data_scientists:
        grants += [
            Grant(
                f"ds-{person.name}-workspace",
                person.principal,
                "User",
                roles.AZUREML_DATA_SCIENTIST,
                workspace_id,
                f"{person.name}: AzureML Data Scientist on the workspace",
            ),
            Grant(
                f"ds-{person.name}-lake",
                person.principal,
                "User",
                roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                storage_id,
                f"{person.name}: read/write data lake blobs (no shared keys)",
            ),
        ]
    for person in ctx.spec.access.admins:
        grants += [
            Grant(
                f"admin-{person.name}-workspace",
                person.principal,
                "User",
                roles.AZUREML_DATA_SCIENTIST,
                workspace_id,
                f"{person.name}: AzureML Data Scientist on the workspace",
            ),
            Grant(
                f"admin-{person.name}-vault",
                person.principal,
                "User",
                roles.KEY_VAULT_ADMINISTRATOR,
                vault_id,
                f"{person.name}: Key Vault data-plane administration",
            ),
        ]
        if cluster_id is not None:
            grants.append(
                Grant(
                    f"admin-{person.name}-aks",
                    person.principal,
                    "User",
                    roles.AKS_RBAC_CLUSTER_ADMIN,
                    cluster_id,
                    f"{person.name}: Kubernetes RBAC cluster admin (Entra ID)",
                )
            )
    return grants
