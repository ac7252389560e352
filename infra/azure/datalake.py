"""Data lake: one StorageV2 account (also the Azure ML workspace's default storage) with
versioning, soft delete, lifecycle tiering and private containers for data, artifacts and
monitoring.

Customer-managed keys (spec.storage.customer_managed_keys; staging and prod): every container
gets a default encryption scope on the Key Vault key and may not override it, so all data,
artifacts and monitoring blobs are encrypted with the team's key. Account-level CMK would need a
user-assigned identity created beforehand; the scope uses the account's own identity instead. The
account's default (Microsoft-managed, double-encrypted) key still covers blobs outside those
containers, such as Azure ML's own system containers.

Shared-key access is OFF in every environment. Azure ML then reaches its default datastores
with Entra ID (the workspace sets system_datastores_auth_mode="Identity"); the workspace identity
and the data scientists get data-plane roles instead of keys. Microsoft documents this mode
as a preview for workspace storage: a team that hits an unsupported feature can re-enable shared
key for its dev stack only, never in prod.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, storage

from infra.azure import roles
from infra.azure.base import Client, child, principal_id, stateful
from infra.azure.definitions import lifecycle_rules, network_access
from infra.context import StackContext

CONTAINERS = ("data", "artifacts", "monitoring")
CMK_SCOPE = "cmk"
SOFT_DELETE_DAYS = {"dev": 7, "staging": 14, "prod": 30}


class DataLake(pulumi.ComponentResource):
    """`account_id`, `account_name`, `blob_endpoint`, `container_names` (role -> name),
    `encryption_scope_name` (the CMK scope every container must use; None without CMK) and
    `encryption_scope` (the scope resource, to depend on)."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        resource_group_name: pulumi.Input[str],
        client: Client,
        cmk_key_id: pulumi.Input[str] | None = None,
        cmk_key_uri: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:DataLake", name, None, opts)
        spec = ctx.spec
        encryption: storage.EncryptionArgsDict = {
            "require_infrastructure_encryption": True,  # double encryption at rest
            "services": {
                "blob": {"enabled": True, "key_type": "Account"},
                "file": {"enabled": True, "key_type": "Account"},
            },
            "key_source": "Microsoft.Storage",
        }
        self.account = secure_account(
            f"{name}-account",
            ctx,
            "datalake",
            resource_group_name,
            stateful(ctx, self),
            bypass="AzureServices, Logging, Metrics",
            encryption=encryption,
        )
        self.account_id = self.account.id
        self.account_name = self.account.name
        self.blob_endpoint = self.account.primary_endpoints.apply(lambda e: e.blob)
        days = SOFT_DELETE_DAYS[spec.environment]
        self.blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=self.account.name,
            resource_group_name=resource_group_name,
            blob_services_name="default",
            is_versioning_enabled=spec.storage.versioning,
            delete_retention_policy={"enabled": True, "days": days},
            container_delete_retention_policy={"enabled": True, "days": days},
            change_feed={"enabled": True, "retention_in_days": max(days, 7)},
            opts=child(self),
        )
        self.lifecycle = storage.ManagementPolicy(
            f"{name}-lifecycle",
            account_name=self.account.name,
            resource_group_name=resource_group_name,
            management_policy_name="default",
            policy={"rules": lifecycle_rules(spec.storage)},
            opts=child(self),
        )
        scope = (
            self._cmk_scope(name, ctx, resource_group_name, client, cmk_key_id, cmk_key_uri)
            if cmk_key_id is not None
            else None
        )
        # The literal name (not scope.name) keeps it known at preview; depends_on keeps the order.
        self.encryption_scope_name = CMK_SCOPE if scope else None
        self.encryption_scope = scope
        self.containers = {
            role: storage.BlobContainer(
                f"{name}-{role}",
                account_name=self.account.name,
                resource_group_name=resource_group_name,
                container_name=role,
                public_access=storage.PublicAccess.NONE,
                default_encryption_scope=self.encryption_scope_name,
                deny_encryption_scope_override=True if scope else None,
                opts=stateful(ctx, self, depends_on=[self.blob_service] + ([scope] if scope else [])),
            )
            for role in CONTAINERS
        }
        self.container_names = {role: c.name for role, c in self.containers.items()}
        self.register_outputs({"account_id": self.account_id, "account_name": self.account_name})

    def _cmk_scope(self, name, ctx, resource_group_name, client: Client, key_id, key_uri) -> storage.EncryptionScope:
        return cmk_encryption_scope(self, name, ctx, resource_group_name, client, self.account, key_id, key_uri)


def cmk_encryption_scope(
    parent: pulumi.Resource,
    name: str,
    ctx: StackContext,
    resource_group_name,
    client: Client,
    account: storage.StorageAccount,
    key_id,
    key_uri,
) -> storage.EncryptionScope:
    """Customer-managed key for an account's containers: an encryption scope on the vault key,
    unwrapped by the account's own identity (granted the narrowest crypto role, on the key)."""
    grant = authorization.RoleAssignment(
        f"{name}-cmk-unwrap",
        principal_id=principal_id(account.identity),
        principal_type="ServicePrincipal",
        role_definition_id=client.subscription_id.apply(
            lambda sub: roles.definition_id(sub, roles.KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER)
        ),
        scope=key_id,
        description="Storage account wraps/unwraps its customer-managed key",
        opts=child(parent),
    )
    return storage.EncryptionScope(
        f"{name}-cmk-scope",
        encryption_scope_name=CMK_SCOPE,
        account_name=account.name,
        resource_group_name=resource_group_name,
        source="Microsoft.KeyVault",
        key_vault_properties={"key_uri": key_uri},  # versionless: follows key rotation
        require_infrastructure_encryption=True,
        state="Enabled",
        opts=stateful(ctx, parent, depends_on=[grant]),
    )


def secure_account(
    resource_name: str,
    ctx: StackContext,
    purpose: str,
    resource_group_name: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    *,
    bypass: str = "AzureServices",
    encryption: storage.EncryptionArgsDict | None = None,
) -> storage.StorageAccount:
    """A StorageV2 account hardened as every account of the stack is: HTTPS and TLS 1.2 only, no
    public blobs, no shared keys (Entra ID by default), no cross-tenant replication, the stack's
    network access, infrastructure (double) encryption and a system-assigned identity."""
    spec = ctx.spec
    access = network_access(spec.network.mode, spec.network.allowed_cidrs)
    return storage.StorageAccount(
        resource_name,
        account_name=ctx.name("azure_storage_account", purpose),
        resource_group_name=resource_group_name,
        location=spec.region,
        kind="StorageV2",
        sku={"name": "Standard_ZRS" if spec.multi_zone else "Standard_LRS"},
        access_tier=storage.AccessTier.HOT,
        enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2",
        allow_blob_public_access=False,
        allow_shared_key_access=False,
        default_to_o_auth_authentication=True,
        allow_cross_tenant_replication=False,
        public_network_access=access.public_network_access,
        network_rule_set={
            "default_action": storage.DefaultAction(access.default_action),
            "bypass": bypass,
            "ip_rules": [{"i_p_address_or_range": r, "action": storage.Action.ALLOW} for r in access.ip_ranges],
        },
        encryption=encryption
        or {
            "require_infrastructure_encryption": True,
            "key_source": "Microsoft.Storage",
            "services": {"blob": {"enabled": True, "key_type": "Account"}},
        },
        identity={"type": "SystemAssigned"},
        opts=opts,
    )
