"""Secrets and keys: an RBAC-authorized Key Vault and, when spec.storage.customer_managed_keys,
the data lake's customer-managed key."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import keyvault

from infra.azure.base import Client, stateful
from infra.azure.definitions import network_access
from infra.context import StackContext

# Purge protection stays on everywhere; a destroyed vault's globally unique name is then held for
# the retention period, so dev (re-created often) keeps the 7-day minimum instead of 90.
SOFT_DELETE_DAYS = {"dev": 7, "staging": 90, "prod": 90}


class KeyVault(pulumi.ComponentResource):
    """`vault_id`, `vault_uri`; with CMK also `cmk_key_id` and the versionless `cmk_key_uri`
    (rotated yearly by the key's rotation policy), and `workspace_key_id` (versioned key URI) for
    the Azure ML workspace's own customer-managed encryption (`workspace_key_resource_id` is its
    ARM id, the scope for grants on it)."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        resource_group_name: pulumi.Input[str],
        client: Client,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:KeyVault", name, None, opts)
        spec = ctx.spec
        access = network_access(spec.network.mode, spec.network.allowed_cidrs)
        self.vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=ctx.name("azure_key_vault", "secrets"),
            resource_group_name=resource_group_name,
            location=spec.region,
            properties={
                "tenant_id": client.tenant_id,
                "sku": {"family": "A", "name": keyvault.SkuName.PREMIUM if ctx.is_prod else keyvault.SkuName.STANDARD},
                "enable_rbac_authorization": True,
                "enable_soft_delete": True,
                "soft_delete_retention_in_days": SOFT_DELETE_DAYS[spec.environment],
                "enable_purge_protection": True,
                "enabled_for_deployment": False,
                "enabled_for_disk_encryption": False,
                "enabled_for_template_deployment": False,
                "public_network_access": access.public_network_access,
                # AzureServices: storage (CMK unwrap) and Azure ML are trusted services.
                "network_acls": {
                    "default_action": access.default_action,
                    "bypass": "AzureServices",
                    "ip_rules": [{"value": r} for r in access.ip_ranges],
                },
            },
            opts=stateful(ctx, self),
        )
        self.vault_id = self.vault.id
        self.vault_name = self.vault.name
        self.vault_uri = self.vault.properties.apply(lambda p: p.vault_uri)
        self.cmk_key_id: pulumi.Output[str] | None = None
        self.cmk_key_uri: pulumi.Output[str] | None = None
        self.workspace_key_id: pulumi.Output[str] | None = None
        self.workspace_key_resource_id: pulumi.Output[str] | None = None
        if spec.storage.customer_managed_keys:
            self._customer_managed_key(name, ctx, resource_group_name)
        self.register_outputs({"vault_id": self.vault_id, "vault_uri": self.vault_uri})

    def _customer_managed_key(self, name: str, ctx: StackContext, resource_group_name) -> None:
        key = self._key(name, ctx, resource_group_name, "datalake-cmk")
        workspace_key = self._key(name, ctx, resource_group_name, "workspace-cmk")
        self.workspace_key_id = workspace_key.key_uri_with_version
        self.workspace_key_resource_id = workspace_key.id
        self.cmk_key_id = key.id
        self.cmk_key_uri = key.key_uri

    def _key(self, name: str, ctx: StackContext, resource_group_name, role: str) -> keyvault.Key:
        """An RSA key (HSM-backed in prod) for wrapping data keys, rotated yearly."""
        key = keyvault.Key(
            f"{name}-{role}",
            key_name=role,
            vault_name=self.vault.name,
            resource_group_name=resource_group_name,
            properties={
                "kty": "RSA-HSM" if ctx.is_prod else "RSA",
                "key_size": 3072,
                "key_ops": ["wrapKey", "unwrapKey"],
                "rotation_policy": {
                    "attributes": {"expiry_time": "P2Y"},
                    "lifetime_actions": [
                        {
                            "trigger": {"time_after_create": "P1Y"},
                            "action": {"type": keyvault.KeyRotationPolicyActionType.ROTATE},
                        },
                        {
                            "trigger": {"time_before_expiry": "P30D"},
                            "action": {"type": keyvault.KeyRotationPolicyActionType.NOTIFY},
                        },
                    ],
                },
            },
            opts=stateful(ctx, self),
        )
        return key
