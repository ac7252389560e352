"""Azure IAM rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.azure._shared import (
    CLUSTER,
    COMPUTE,
    ENDPOINT,
    REGISTRY,
    STORAGE,
    STORAGE_DOC,
    VAULT,
    C,
    P,
    compute_properties,
)
from policies.common import simple
from policies.core import Ctx, Rule, as_list, dig, is_unknown, known

PRIVILEGED_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}
RBAC_DOC = "https://learn.microsoft.com/azure/role-based-access-control/best-practices"
# Role Based Access Control Administrator: acceptable only with a condition that limits which
# roles it may assign (the CI deploy identity), otherwise it is as strong as User Access Administrator.
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"


def _role(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    role = props.get("roleDefinitionId")
    if not known(role):
        return
    guid = str(role).rstrip("/").rsplit("/", 1)[-1].lower()
    if guid in PRIVILEGED_ROLES:
        yield (
            f"role assignment grants {PRIVILEGED_ROLES[guid]} ({guid}); "
            "use a narrower built-in role scoped to the resource"
        )
    condition = props.get("condition")
    if (
        guid == RBAC_ADMINISTRATOR
        and not is_unknown(condition)
        and (not condition or "RoleDefinitionId" not in str(condition))
    ):
        yield (
            "role assignment grants Role Based Access Control Administrator without a condition on "
            "RoleDefinitionId; constrain the roles it may assign"
        )


def _vault_rbac(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    p = props.get("properties") or {}
    if p.get("enableRbacAuthorization") is not True and not is_unknown(p.get("enableRbacAuthorization")):
        yield "key vault must use Azure RBAC (properties.enableRbacAuthorization=True)"
    if as_list(p.get("accessPolicies")):
        yield "key vault has legacy access policies; grant access with RBAC role assignments"


def _aks_local(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("disableLocalAccounts") is not True:
        yield "AKS local accounts must be disabled (disableLocalAccounts=True)"


def _aks_entra(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    aad = props.get("aadProfile") or {}
    if not (aad.get("managed") is not False and aad.get("enableAzureRBAC") is True):
        yield "AKS must use Entra ID with Azure RBAC (aadProfile.managed and aadProfile.enableAzureRBAC)"


def _acr_admin(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("adminUserEnabled") is not False and not is_unknown(props.get("adminUserEnabled")):
        yield "registry admin user must be disabled (adminUserEnabled=False)"


def _acr_anonymous(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("anonymousPullEnabled") is True:
        yield "anonymous pull must be disabled"


def _shared_key(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    if props.get("allowSharedKeyAccess") is not False and not is_unknown(props.get("allowSharedKeyAccess")):
        yield "storage account keys must be disabled (allowSharedKeyAccess=False); use Entra ID"


def _compute_local_auth(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    p = compute_properties(props)
    if p.get("computeType") in ("AmlCompute", "ComputeInstance") and p.get("disableLocalAuth") is not True:
        yield "compute must disable local auth (properties.disableLocalAuth=True)"


def _compute_ssh(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    p = compute_properties(props)
    if dig(p, "properties", "remoteLoginPortPublicAccess") == "Enabled":
        yield "compute exposes SSH publicly (remoteLoginPortPublicAccess Enabled)"


def _endpoint_auth(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    mode = dig(props, "properties", "authMode")
    if known(mode) and mode == "Key":
        yield "online endpoint uses static keys; use authMode AADToken or AMLToken"


RULES: list[Rule] = [
    simple(
        "azure-authorization-roleassignment-deny-privileged-roles",
        C,
        "iam",
        "No Owner, Contributor or User Access Administrator role assignments for workload identities, "
        "and Role Based Access Control Administrator only with a condition on the assignable roles.",
        "Assign a narrow built-in role (e.g. Storage Blob Data Contributor) at the resource scope; "
        "constrain RBAC Administrator with an ABAC condition on RoleDefinitionId.",
        (P + "authorization:RoleAssignment",),
        _role,
        "critical",
        RBAC_DOC,
    ),
    simple(
        "azure-keyvault-vault-require-rbac",
        C,
        "iam",
        "Key vaults authorize with Azure RBAC, not access policies.",
        "Set properties.enableRbacAuthorization=True and grant Key Vault Crypto/Secrets roles.",
        (VAULT,),
        _vault_rbac,
        "high",
        "https://learn.microsoft.com/azure/key-vault/general/rbac-guide",
    ),
    simple(
        "azure-containerservice-managedcluster-disable-local-accounts",
        C,
        "iam",
        "AKS clusters disable local accounts.",
        "Set disableLocalAccounts=True.",
        (CLUSTER,),
        _aks_local,
        "high",
        "https://learn.microsoft.com/azure/aks/manage-local-accounts-managed-azure-ad",
    ),
    simple(
        "azure-containerservice-managedcluster-require-entra-rbac",
        C,
        "iam",
        "AKS clusters authenticate with Entra ID and authorize with Azure RBAC.",
        "Set aadProfile {managed: True, enableAzureRBAC: True}.",
        (CLUSTER,),
        _aks_entra,
        "high",
        "https://learn.microsoft.com/azure/aks/manage-azure-rbac",
    ),
    simple(
        "azure-containerregistry-registry-disable-admin-user",
        C,
        "iam",
        "Container registries disable the admin user.",
        "Set adminUserEnabled=False; grant AcrPull/AcrPush roles to identities.",
        (REGISTRY,),
        _acr_admin,
        "high",
        "https://learn.microsoft.com/azure/container-registry/container-registry-authentication",
    ),
    simple(
        "azure-containerregistry-registry-deny-anonymous-pull",
        C,
        "iam",
        "Container registries do not allow anonymous pull.",
        "Set anonymousPullEnabled=False.",
        (REGISTRY,),
        _acr_anonymous,
        "high",
        "https://learn.microsoft.com/azure/container-registry/anonymous-pull-access",
    ),
    simple(
        "azure-storage-storageaccount-disable-shared-key",
        C,
        "iam",
        "Storage accounts disable shared keys so access goes through Entra ID and RBAC.",
        "Set allowSharedKeyAccess=False.",
        (STORAGE,),
        _shared_key,
        "high",
        STORAGE_DOC,
    ),
    simple(
        "azure-machinelearningservices-compute-disable-local-auth",
        C,
        "iam",
        "ML compute disables local auth.",
        "Set properties.disableLocalAuth=True.",
        (COMPUTE,),
        _compute_local_auth,
        "high",
    ),
    simple(
        "azure-machinelearningservices-compute-deny-public-ssh",
        C,
        "iam",
        "ML compute does not expose SSH publicly.",
        "Set remoteLoginPortPublicAccess Disabled.",
        (COMPUTE,),
        _compute_ssh,
        "high",
    ),
    simple(
        "azure-machinelearningservices-onlineendpoint-deny-key-auth",
        C,
        "iam",
        "Online endpoints authenticate with tokens, not static keys.",
        "Set properties.authMode to AADToken or AMLToken.",
        (ENDPOINT,),
        _endpoint_auth,
        "medium",
    ),
]
