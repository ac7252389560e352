"""CiIdentity: user-assigned identities that GitHub Actions uses through federated credentials.

* `preview`: Reader on the stack's resource group, federated only for the repository's
  pull-request workflows (`repo:<owner>/<name>:pull_request`);
* `deploy`: federated for the deploy branches and environments, with the narrowest built-in roles
  that together manage every resource type of this stack -- on the resource group only, never
  Owner/Contributor/User Access Administrator:
  - service contributor roles (storage, Key Vault, AKS, network, private DNS, monitoring, Log
    Analytics, Application Insights, App Service plan + sites, Event Grid, Cost Management budget);
  - a custom role limited to Azure ML workspaces, container registries and Kubernetes extensions,
    for which Azure has no narrower built-in than Contributor, and to the stack's workload
    user-assigned identities (create, assign; never their federated credentials);
  - Role Based Access Control Administrator with a condition: it may create/delete only the role
    assignments this stack makes (the roles in `infra.azure.roles.NAMES`) and never for itself.
No secret or certificate is created. The resource group itself (and so this component) is created
by an administrator's first `pulumi up`; the deploy identity can neither delete the group nor
add federated credentials to any identity (no federatedIdentityCredentials action), so widening CI
trust needs an administrator.
"""

from __future__ import annotations

import re

import pulumi
from pulumi_azure_native import authorization, managedidentity

from infra.azure import roles
from infra.azure.base import Client, child
from infra.context import StackContext
from infra.spec.model import GITHUB_OIDC_ISSUER, CiSpec

AUDIENCE = "api://AzureADTokenExchange"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
DEPLOY_ROLES = {
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
    "f25e0fa2-a7c8-4377-a976-54943a77a395": "Key Vault Contributor",
    "ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8": "Azure Kubernetes Service Contributor Role",
    "4d97b98b-1d4f-4787-a291-c67834d212e7": "Network Contributor",
    "b12aa53e-6015-4669-85d0-8515ebb3ae7f": "Private DNS Zone Contributor",
    "749f88d5-cbae-40b8-bcfc-e573ddc772fa": "Monitoring Contributor",
    "92aaf0da-9dab-42b6-94a3-d43ce8d16293": "Log Analytics Contributor",
    "ae349356-3a1b-4a5e-921d-050484c6347e": "Application Insights Component Contributor",
    "2cc479cb-7b4d-49a8-b449-8c00fd0f0a4b": "Web Plan Contributor",
    "de139f84-1756-47ae-9be6-808fbbe84772": "Website Contributor",
    "1e241071-0855-49ea-94dc-649edcd759de": "EventGrid Contributor",
    "434105ed-43f6-45c7-a02f-909b2ba83430": "Cost Management Contributor",
    "4a9ae827-6dc8-4573-8ac7-8239d42aa03f": "Tag Contributor",
}
# Azure ML, ACR and the AKS ML extension have no built-in narrower than Contributor.
CUSTOM_ACTIONS = [
    "Microsoft.MachineLearningServices/workspaces/*",
    "Microsoft.ContainerRegistry/registries/*",
    "Microsoft.KubernetesConfiguration/extensions/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    # The AKS control plane's and the model monitor's identities, created by the stack.
    "Microsoft.ManagedIdentity/userAssignedIdentities/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/write",
    "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
]


def rbac_condition(assignable: list[str], deploy_principal_id: str) -> str:
    """ABAC condition: role assignments only for `assignable` roles, never to the deploy identity."""
    guids = ", ".join(sorted(assignable))
    return (
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
        f"(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{guids}}} "
        f"AND @Request[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAllValues:GuidNotEquals "
        f"{{{deploy_principal_id}}})) AND "
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR "
        f"(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{guids}}}))"
    )


def credential_name(subject: str) -> str:
    """A stable credential name from its subject: github-pr, github-branch-main, github-env-staging."""
    context = subject.split(":", 2)[2]
    kind, _, value = context.partition(":")
    label = {"pull_request": "pr", "ref": "branch", "environment": "env"}[kind]
    value = value.removeprefix("refs/heads/")
    return re.sub(r"[^A-Za-z0-9_-]+", "-", f"github-{label}-{value}".rstrip("-"))[:120]


def definition_id(subscription_id: str, guid: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


class CiIdentity(pulumi.ComponentResource):
    preview_client_id: pulumi.Output[str] | None
    deploy_client_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        client: Client,
        resource_group_name: pulumi.Input[str],
        resource_group_id: pulumi.Input[str],
        ci: CiSpec,
        code_account_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:CiIdentity", name, None, opts)
        self._rg_name, self._rg_id, self._client = resource_group_name, resource_group_id, client
        self.preview_client_id = None
        if ci.preview_subjects:
            preview = self._identity(f"{name}-preview", ctx.name("azure_generic", "ci-preview"), ci.preview_subjects)
            self._assign(
                f"{name}-preview-reader",
                preview.principal_id,
                READER,
                "CI pull-request previews read the stack's resources",
            )
            self.preview_client_id = preview.client_id
        deploy = self._identity(f"{name}-deploy", ctx.name("azure_generic", "ci-deploy"), ci.deploy_subjects)
        for guid, role in DEPLOY_ROLES.items():
            key = role.lower().replace(" ", "-").removesuffix("-role")
            self._assign(f"{name}-deploy-{key}", deploy.principal_id, guid, f"CI deploy: {role}")
        custom = authorization.RoleDefinition(
            f"{name}-deploy-ml-role",
            scope=resource_group_id,
            assignable_scopes=[resource_group_id],
            role_name=ctx.name("azure_generic", "ci-deploy-ml"),
            role_type="CustomRole",
            description=f"CI deploy of stack {ctx.stack}: Azure ML workspaces, registries, AKS extensions",
            permissions=[authorization.PermissionArgs(actions=CUSTOM_ACTIONS)],
            opts=child(self),
        )
        authorization.RoleAssignment(
            f"{name}-deploy-ml",
            principal_id=deploy.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=custom.id,
            scope=resource_group_id,
            description="CI deploy: Azure ML, registry and AKS extension (custom role)",
            opts=child(self),
        )
        authorization.RoleAssignment(
            f"{name}-deploy-rbac",
            principal_id=deploy.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=client.subscription_id.apply(lambda s: definition_id(s, RBAC_ADMINISTRATOR)),
            scope=resource_group_id,
            condition_version="2.0",
            condition=deploy.principal_id.apply(lambda p: rbac_condition(list(roles.NAMES), p)),
            description="CI deploy: only the stack's own role assignments, never to itself",
            opts=child(self),
        )
        if code_account_id is not None:
            # pulumi-azure-native uploads the stack's code blobs with the deployer's Entra ID token.
            authorization.RoleAssignment(
                f"{name}-deploy-code-upload",
                principal_id=deploy.principal_id,
                principal_type="ServicePrincipal",
                role_definition_id=client.subscription_id.apply(
                    lambda s: definition_id(s, roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
                ),
                scope=code_account_id,
                description="CI deploy: uploads the stack's code (Entra ID)",
                opts=child(self),
            )
        self.deploy_client_id = deploy.client_id
        self.register_outputs({"preview_client_id": self.preview_client_id, "deploy_client_id": self.deploy_client_id})

    def _identity(self, resource_name: str, physical: str, subjects: list[str]):
        identity = managedidentity.UserAssignedIdentity(
            resource_name, resource_name_=physical, resource_group_name=self._rg_name, tags={}, opts=child(self)
        )
        previous: list[pulumi.Resource] = []
        for subject in subjects:
            key = credential_name(subject)
            # Azure rejects concurrent writes of credentials under one identity: create them in turn.
            credential = managedidentity.FederatedIdentityCredential(
                f"{resource_name}-{key}",
                federated_identity_credential_resource_name=key,
                resource_name_=identity.name,
                resource_group_name=self._rg_name,
                issuer=GITHUB_OIDC_ISSUER,
                audiences=[AUDIENCE],
                subject=subject,
                opts=child(self, depends_on=previous),
            )
            previous = [credential]
        return identity

    def _assign(self, resource_name: str, principal_id, guid: str, description: str) -> None:
        authorization.RoleAssignment(
            resource_name,
            principal_id=principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=self._client.subscription_id.apply(lambda s: definition_id(s, guid)),
            scope=self._rg_id,
            description=description,
            opts=child(self),
        )
