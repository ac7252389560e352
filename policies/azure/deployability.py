"""Azure deployability rules: what makes a first `pulumi up` fail although the preview passes."""

from __future__ import annotations

import re
from collections.abc import Iterator

from policies.azure._shared import AGENT_POOL, CLUSTER, ENDPOINT, WORKSPACE, C, P
from policies.core import Ctx, Rule, StackResource, as_list, dig, is_unknown
from policies.graph import Graph, short
from policies.objects import CODE_SETTING, Uploads, object_uri

MODEL_VERSION = P + "machinelearningservices:ModelVersion"
DEPLOYMENT = P + "machinelearningservices:OnlineDeployment"
SCHEDULE = P + "machinelearningservices:Schedule"
WEB_APP = P + "web:WebApp"
EXTENSION = P + "kubernetesconfiguration:Extension"
ROLE_ASSIGNMENT = P + "authorization:RoleAssignment"
USER_IDENTITY = P + "managedidentity:UserAssignedIdentity"
K8S_SECRET = "kubernetes:core/v1:Secret"
# Resources that register a named Azure ML asset (components, data, models, environments).
ASSET_TYPES = tuple(
    P + f"machinelearningservices:{kind}{part}"
    for kind in ("Component", "Data", "Model", "Environment")
    for part in ("Container", "Version")
)
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
_ASSET = re.compile(r"^azureml:(?!//)([A-Za-z0-9_.\-]+)(?:[:@].*)?$")

# Online endpoints with a system-assigned identity get AcrPull on the workspace registry and Storage
# Blob Data Reader on its default storage automatically ("Automatic role assignment for endpoint identity").
ENDPOINT_AUTH_DOC = "https://learn.microsoft.com/azure/machine-learning/concept-endpoints-online-auth"
EXTENSION_DOC = (
    "https://learn.microsoft.com/azure/machine-learning/how-to-deploy-kubernetes-extension"
    "#review-azure-machine-learning-extension-configuration-settings"
)
POOLS_DOC = "https://github.com/Azure/AKS/issues/4522"
MODEL_DOC = "https://learn.microsoft.com/azure/machine-learning/concept-model-management-and-deployment"
FLEX_DOC = "https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to#deploy-your-code-project"
RBAC_DOC = "https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected"


def _assets(resources: list[StackResource]) -> set[str]:
    names = (r.props.get("name") for r in resources if r.type in ASSET_TYPES)
    return {name for name in names if isinstance(name, str)}


def _asset_name(value) -> str | None:
    m = _ASSET.match(value) if isinstance(value, str) else None
    return m.group(1) if m else None


# ---- serving and its monitor read artifacts the plan creates or registers ------------------------


def _serving_refs(r: StackResource) -> Iterator[tuple[str, object]]:
    props = r.props.get("properties") or {}
    if r.type == MODEL_VERSION:
        yield "properties.modelUri", props.get("modelUri")
    elif r.type == DEPLOYMENT:
        yield "properties.model", props.get("model")
    elif r.type == SCHEDULE:
        signals = dig(props, "action", "monitorDefinition", "signals") or {}
        for name, signal in sorted(signals.items()) if isinstance(signals, dict) else ():
            for kind in ("productionData", "referenceData"):
                for item in as_list((signal or {}).get(kind)):
                    if isinstance(item, dict):
                        yield f"signals.{name}.{kind}.uri", item.get("uri")


def _serving_artifacts(resources: list[StackResource], ctx: Ctx):
    uploads, assets = Uploads(resources), _assets(resources)
    for r in resources:
        if r.type not in (MODEL_VERSION, DEPLOYMENT, SCHEDULE):
            continue
        for where, uri in _serving_refs(r):
            asset = _asset_name(uri)
            if asset is not None and asset not in assets:
                yield (
                    f"{where} {uri} names an Azure ML asset that no resource in the plan registers "
                    "(azure-ai-ml registers collected data client-side; ARM deployments get none)",
                    r.urn,
                )
            elif uploads.missing(uploads.parse(uri)):
                yield (
                    f"{where} {uri} points into a container this stack creates, and nothing in the plan "
                    "uploads it (azure-native storage.Blob)",
                    r.urn,
                )


# ---- function packages and pipeline components -----------------------------------------------------


def _app_settings(app: StackResource) -> dict:
    settings = dig(app.props, "siteConfig", "appSettings") or []
    return {s.get("name"): s.get("value") for s in settings if isinstance(s, dict)}


def _code_uploads(resources: list[StackResource], ctx: Ctx):
    uploads, assets = Uploads(resources), _assets(resources)
    for app in (r for r in resources if r.type == WEB_APP):
        package = dig(app.props, "functionAppConfig", "deployment", "storage", "value")
        if uploads.missing(uploads.parse(package, prefix=True)):
            yield (
                f"functionAppConfig.deployment.storage {package} holds no package: nothing in the plan uploads one "
                "(a zip blob in that container), so the function app starts with no code",
                app.urn,
            )
        for name, value in sorted(_app_settings(app).items()):
            if not isinstance(name, str) or not CODE_SETTING.search(name):
                continue
            asset = _asset_name(value)
            if asset is not None and asset not in assets:
                yield (
                    f"app setting {name} names Azure ML asset {value}, which no resource in the plan registers "
                    "(machinelearningservices.ComponentVersion)",
                    app.urn,
                )
            elif object_uri(value) and uploads.missing(uploads.parse(value)):
                yield f"app setting {name} names {value}, which nothing in the plan uploads", app.urn


# ---- identities used before their role assignments exist ----------------------------------------


def _identity_ids(user: StackResource, identity: StackResource) -> bool:
    return identity.urn in user.property_dependencies.get("identity", [])


def _permissions_first(resources: list[StackResource], ctx: Ctx):
    graph = Graph(resources)
    identities = graph.of_type(USER_IDENTITY)
    assignments = graph.of_type(ROLE_ASSIGNMENT)
    for user in resources:
        for identity in identities:
            if user.type == ROLE_ASSIGNMENT or not _identity_ids(user, identity):
                continue
            ancestors = graph.ancestors(user.urn)
            missing = [
                a
                for a in assignments
                if identity.urn in a.property_dependencies.get("principalId", [])
                and a.urn not in ancestors
                and user.urn not in graph.ancestors(a.urn)
            ]
            if missing:
                yield (
                    f"runs as user-assigned identity {short(identity.urn)} but does not wait for its role "
                    f"assignments {', '.join(short(a.urn) for a in missing)}",
                    user.urn,
                )


# ---- role assignments Azure creates itself -----------------------------------------------------


def _role_guid(assignment: StackResource) -> str | None:
    role = assignment.props.get("roleDefinitionId")
    return role.rsplit("/", 1)[-1].lower() if isinstance(role, str) and not is_unknown(role) else None


def _workspace_of(endpoint: StackResource, workspaces: list[StackResource]) -> StackResource | None:
    for w in workspaces:
        if w.urn in endpoint.property_dependencies.get("workspaceName", []) or (
            endpoint.props.get("workspaceName") == w.props.get("workspaceName") is not None
        ):
            return w
    return None


def _same_target(assignment: StackResource, workspace: StackResource, key: str) -> bool:
    scope, target = assignment.props.get("scope"), workspace.props.get(key)
    if isinstance(scope, str) and isinstance(target, str) and not is_unknown(scope) and not is_unknown(target):
        return scope.lower() == target.lower()
    return bool(
        set(assignment.property_dependencies.get("scope", [])) & set(workspace.property_dependencies.get(key, []))
    )


def _implicit_assignments(resources: list[StackResource], ctx: Ctx):
    graph = Graph(resources)
    workspaces = graph.of_type(WORKSPACE)
    for endpoint in graph.of_type(ENDPOINT):
        if "SystemAssigned" not in str(dig(endpoint.props, "identity", "type") or ""):
            continue
        workspace = _workspace_of(endpoint, workspaces)
        if workspace is None:
            continue
        for a in graph.of_type(ROLE_ASSIGNMENT):
            if endpoint.urn not in a.property_dependencies.get("principalId", []):
                continue
            guid = _role_guid(a)
            if guid == ACR_PULL and _same_target(a, workspace, "containerRegistry"):
                yield (
                    "AcrPull on the workspace registry is assigned to the endpoint's system-assigned identity "
                    "by Azure ML itself: creating it again fails with RoleAssignmentExists",
                    a.urn,
                )
            elif guid == BLOB_DATA_READER and _same_target(a, workspace, "storageAccount"):
                yield (
                    "Storage Blob Data Reader on the workspace storage is assigned to the endpoint's "
                    "system-assigned identity by Azure ML itself: creating it again fails with "
                    "RoleAssignmentExists",
                    a.urn,
                )


# ---- node pools on one virtual network created in parallel ---------------------------------------


def _vnet(pool: StackResource) -> str | None:
    subnet = pool.props.get("vnetSubnetID")
    if isinstance(subnet, str) and not is_unknown(subnet) and "/subnets/" in subnet:
        return subnet.split("/subnets/")[0].lower()
    deps = pool.property_dependencies.get("vnetSubnetID", [])
    return deps[0] if deps else None


def _pools_serial(resources: list[StackResource], ctx: Ctx):
    graph = Graph(resources)
    pools = sorted(graph.of_type(AGENT_POOL), key=lambda p: p.urn)
    for i, pool in enumerate(pools):
        vnet = _vnet(pool)
        if vnet is None:
            continue
        for other in pools[:i]:
            same_cluster = pool.props.get("resourceName") == other.props.get("resourceName")
            if (
                same_cluster
                and _vnet(other) == vnet
                and not (graph.waits_for(pool, other) or graph.waits_for(other, pool))
            ):
                yield (
                    f"agent pools {short(other.urn)} and {short(pool.urn)} join the same virtual network and "
                    "nothing orders their creation: AKS fails the second with SetVNetOwnershipFailed",
                    pool.urn,
                )


# ---- the Azure ML cluster extension's prerequisites ---------------------------------------------


def _nodes_at_install(extension: StackResource, graph: Graph) -> float | None:
    """Nodes the extension's cluster has when the extension installs (initial counts)."""
    clusters = [
        c
        for c in graph.of_type(CLUSTER)
        if c.urn in extension.property_dependencies.get("clusterName", [])
        or c.props.get("resourceName") == extension.props.get("clusterName")
    ]
    if not clusters:
        return None
    cluster, total = clusters[0], 0.0
    ancestors = graph.ancestors(extension.urn)
    profiles = [p for p in as_list(cluster.props.get("agentPoolProfiles")) if isinstance(p, dict)]
    pools = [
        p.props
        for p in graph.of_type(AGENT_POOL)
        if p.urn in ancestors and p.props.get("resourceName") == cluster.props.get("resourceName")
    ]
    for pool in profiles + pools:
        count = pool.get("count", pool.get("minCount"))
        if is_unknown(count):
            return None
        total += float(count or 0)
    return total


def _extension_prerequisites(resources: list[StackResource], ctx: Ctx):
    graph = Graph(resources)
    for ext in graph.of_type(EXTENSION):
        if str(ext.props.get("extensionType", "")).lower() != "microsoft.azureml.kubernetes":
            continue
        settings = ext.props.get("configurationSettings") or {}
        namespace = dig(ext.props, "scope", "cluster", "releaseNamespace") or "azureml"
        secret = settings.get("sslSecret")
        if isinstance(secret, str) and not is_unknown(secret):
            ancestors = graph.ancestors(ext.urn)
            created = [
                s
                for s in graph.of_type(K8S_SECRET)
                if s.urn in ancestors
                and dig(s.props, "metadata", "name") == secret
                and dig(s.props, "metadata", "namespace") == namespace
            ]
            if not created:
                yield (
                    f"configurationSettings.sslSecret {secret!r} must already exist in namespace {namespace!r}, "
                    "which the extension itself creates: pass the certificate as configurationProtectedSettings "
                    "sslCertPemFile/sslKeyPemFile instead",
                    ext.urn,
                )
        inference = str(settings.get("enableInference", "False")).lower() == "true"
        ha = str(settings.get("inferenceRouterHA", "True")).lower() != "false"
        nodes = _nodes_at_install(ext, graph)
        if inference and ha and nodes is not None and nodes < 3:
            yield (
                f"inferenceRouterHA (the default) runs three inference routers and needs at least 3 nodes; the "
                f"cluster has {nodes:g} when the extension installs: set inferenceRouterHA 'False' or add nodes",
                ext.urn,
            )


RULES: list[Rule] = [
    Rule(
        "azure-stack-ml-serving-require-artifact",
        C,
        "deployability",
        "Model versions, online deployments and monitors reference artifacts the plan uploads or registers: "
        "datastore paths in containers the stack creates need a blob, azureml:<asset> references a "
        "registered asset.",
        "Register model versions from the pipeline (serving.model_version names one); create the data/"
        "component versions a monitor or deployment names, and upload reference data as storage.Blob.",
        "critical",
        MODEL_DOC,
        stack_check=_serving_artifacts,
    ),
    Rule(
        "azure-stack-code-require-upload",
        C,
        "deployability",
        "Function apps start from a package the plan uploads, and code they submit (app settings naming "
        "TEMPLATE, CODE, SCRIPT, PACKAGE, SOURCE or COMPONENT) is uploaded or registered by the plan.",
        "Upload the function package as a storage.Blob into the deployment container (infra/code_assets.py) "
        "and register pipeline components with machinelearningservices.ComponentVersion.",
        "high",
        FLEX_DOC,
        stack_check=_code_uploads,
    ),
    Rule(
        "azure-stack-identities-require-permissions-first",
        C,
        "deployability",
        "A resource that runs as a user-assigned identity waits for the identity's role assignments that do "
        "not depend on the resource itself.",
        "Pass depends_on=[role_assignments] to the resource that uses the identity.",
        "high",
        RBAC_DOC,
        stack_check=_permissions_first,
    ),
    Rule(
        "azure-stack-role-assignments-deny-implicit-duplicates",
        C,
        "deployability",
        "No role assignment that Azure creates itself: AcrPull on the workspace registry and Storage Blob "
        "Data Reader on the workspace storage for an online endpoint's system-assigned identity.",
        "Drop the assignment, or give the endpoint a user-assigned identity and own all its assignments.",
        "high",
        ENDPOINT_AUTH_DOC,
        stack_check=_implicit_assignments,
    ),
    Rule(
        "azure-stack-agentpools-require-serial-creation",
        C,
        "deployability",
        "AKS agent pools of one cluster on the same virtual network are created one after another.",
        "Chain the pools: give each AgentPool depends_on=[the previous pool].",
        "high",
        POOLS_DOC,
        stack_check=_pools_serial,
    ),
    Rule(
        "azure-stack-ml-extension-require-prerequisites",
        C,
        "deployability",
        "The Azure ML cluster extension's prerequisites exist before it installs: no sslSecret the plan "
        "does not create in its namespace, and inferenceRouterHA only with at least 3 nodes.",
        "Pass the TLS certificate through configurationProtectedSettings (sslCertPemFile, sslKeyPemFile) and "
        "set inferenceRouterHA 'False' on clusters with fewer than 3 nodes.",
        "critical",
        EXTENSION_DOC,
        stack_check=_extension_prerequisites,
    ),
]
