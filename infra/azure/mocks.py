"""Computed outputs and invoke results that make Azure plans realistic under Pulumi mocks.

ARM ids follow /subscriptions/<sub>/resourceGroups/<rg>/providers/<namespace>/<type>/<name>;
identities get stable principal ids; endpoints, URIs and connection strings look like Azure's.
Keys are camelCase, exactly as the engine returns them.
"""

from __future__ import annotations

import uuid
from typing import Any

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
TENANT_ID = "11111111-1111-1111-1111-111111111111"
DEPLOYER_OBJECT_ID = "22222222-2222-2222-2222-222222222222"
DEPLOYER_CLIENT_ID = "33333333-3333-3333-3333-333333333333"

# token suffix -> (path under the resource group, formatted with the inputs, and the name key)
_PATHS: dict[str, tuple[str, str]] = {
    "operationalinsights:Workspace": ("Microsoft.OperationalInsights/workspaces/{workspaceName}", "workspaceName"),
    "applicationinsights:Component": ("Microsoft.Insights/components/{resourceName}", "resourceName"),
    "keyvault:Vault": ("Microsoft.KeyVault/vaults/{vaultName}", "vaultName"),
    "keyvault:Key": ("Microsoft.KeyVault/vaults/{vaultName}/keys/{keyName}", "keyName"),
    "managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
        "resourceName",
    ),
    "storage:StorageAccount": ("Microsoft.Storage/storageAccounts/{accountName}", "accountName"),
    "storage:BlobServiceProperties": (
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default",
        "blobServicesName",
    ),
    "storage:ManagementPolicy": (
        "Microsoft.Storage/storageAccounts/{accountName}/managementPolicies/default",
        "managementPolicyName",
    ),
    "storage:BlobContainer": (
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}",
        "containerName",
    ),
    "storage:EncryptionScope": (
        "Microsoft.Storage/storageAccounts/{accountName}/encryptionScopes/{encryptionScopeName}",
        "encryptionScopeName",
    ),
    "containerregistry:Registry": ("Microsoft.ContainerRegistry/registries/{registryName}", "registryName"),
    "machinelearningservices:Workspace": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}",
        "workspaceName",
    ),
    "machinelearningservices:Compute": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/computes/{computeName}",
        "computeName",
    ),
    "machinelearningservices:Datastore": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/datastores/{name}",
        "name",
    ),
    "machinelearningservices:ModelContainer": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/models/{name}",
        "name",
    ),
    "machinelearningservices:ModelVersion": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/models/{name}/versions/{version}",
        "version",
    ),
    "machinelearningservices:CodeContainer": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/codes/{name}",
        "name",
    ),
    "machinelearningservices:CodeVersion": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/codes/{name}/versions/{version}",
        "name",
    ),
    "machinelearningservices:ComponentContainer": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/components/{name}",
        "name",
    ),
    "machinelearningservices:ComponentVersion": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/components/{name}/versions/{version}",
        "name",
    ),
    "machinelearningservices:DataContainer": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/data/{name}",
        "name",
    ),
    "machinelearningservices:DataVersion": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/data/{name}/versions/{version}",
        "name",
    ),
    "storage:Blob": (
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}"
        "/blobs/{blobName}",
        "blobName",
    ),
    "machinelearningservices:EnvironmentContainer": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/environments/{name}",
        "name",
    ),
    "machinelearningservices:EnvironmentVersion": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/environments/{name}/versions/{version}",
        "version",
    ),
    "machinelearningservices:OnlineEndpoint": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/onlineEndpoints/{endpointName}",
        "endpointName",
    ),
    "machinelearningservices:OnlineDeployment": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/onlineEndpoints/{endpointName}"
        "/deployments/{deploymentName}",
        "deploymentName",
    ),
    "machinelearningservices:Schedule": (
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/schedules/{name}",
        "name",
    ),
    "containerservice:ManagedCluster": ("Microsoft.ContainerService/managedClusters/{resourceName}", "resourceName"),
    "containerservice:AgentPool": (
        "Microsoft.ContainerService/managedClusters/{resourceName}/agentPools/{agentPoolName}",
        "agentPoolName",
    ),
    "kubernetesconfiguration:Extension": (
        "Microsoft.ContainerService/managedClusters/{clusterName}/providers/"
        "Microsoft.KubernetesConfiguration/extensions/{extensionName}",
        "extensionName",
    ),
    "monitor:ActionGroup": ("Microsoft.Insights/actionGroups/{actionGroupName}", "actionGroupName"),
    "monitor:MetricAlert": ("Microsoft.Insights/metricAlerts/{ruleName}", "ruleName"),
    "monitor:ScheduledQueryRule": ("Microsoft.Insights/scheduledQueryRules/{ruleName}", "ruleName"),
    "monitor:DataCollectionRule": (
        "Microsoft.Insights/dataCollectionRules/{dataCollectionRuleName}",
        "dataCollectionRuleName",
    ),
    "web:AppServicePlan": ("Microsoft.Web/serverfarms/{name}", "name"),
    "web:WebApp": ("Microsoft.Web/sites/{name}", "name"),
    "eventgrid:SystemTopic": ("Microsoft.EventGrid/systemTopics/{systemTopicName}", "systemTopicName"),
    "eventgrid:SystemTopicEventSubscription": (
        "Microsoft.EventGrid/systemTopics/{systemTopicName}/eventSubscriptions/{eventSubscriptionName}",
        "eventSubscriptionName",
    ),
    "network:VirtualNetwork": ("Microsoft.Network/virtualNetworks/{virtualNetworkName}", "virtualNetworkName"),
    "network:PrivateEndpoint": ("Microsoft.Network/privateEndpoints/{privateEndpointName}", "privateEndpointName"),
    "network:PrivateDnsZoneGroup": (
        "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{privateDnsZoneGroupName}",
        "privateDnsZoneGroupName",
    ),
    "privatedns:PrivateZone": ("Microsoft.Network/privateDnsZones/{privateZoneName}", "privateZoneName"),
    "privatedns:VirtualNetworkLink": (
        "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks/{virtualNetworkLinkName}",
        "virtualNetworkLinkName",
    ),
}


def stable_guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


class _Defaults(dict):
    """str.format mapping: a missing name input (auto-named resource) falls back to the logical name."""

    def __init__(self, inputs: dict, fallback: str):
        super().__init__({k: v for k, v in inputs.items() if isinstance(v, (str, int, float))})
        self.fallback = fallback

    def __missing__(self, key: str) -> str:
        return self.fallback


def arm_id(type_: str, name: str, inputs: dict) -> str | None:
    suffix = type_.removeprefix("azure-native:")
    if suffix == "resources:ResourceGroup":
        return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{inputs.get('resourceGroupName', name)}"
    if suffix == "authorization:RoleAssignment":
        scope = inputs.get("scope", f"/subscriptions/{SUBSCRIPTION_ID}")
        return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{stable_guid(type_, name)}"
    if suffix == "authorization:RoleDefinition":
        return f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{stable_guid(type_, name)}"
    if suffix == "consumption:Budget":
        return f"{inputs.get('scope')}/providers/Microsoft.Consumption/budgets/{inputs.get('budgetName', name)}"
    if suffix not in _PATHS:
        return None
    path, _ = _PATHS[suffix]
    rg = inputs.get("resourceGroupName", "rg")
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/" + path.format_map(_Defaults(inputs, name))


def _physical_name(type_: str, name: str, inputs: dict) -> str:
    suffix = type_.removeprefix("azure-native:")
    key = {"resources:ResourceGroup": "resourceGroupName", "consumption:Budget": "budgetName"}.get(suffix)
    key = key or (_PATHS[suffix][1] if suffix in _PATHS else None)
    value = inputs.get(key) if key else None
    return value if isinstance(value, str) else name


def _identity(type_: str, name: str, identity: Any) -> dict | None:
    """Identity outputs: a principal for system-assigned identities; user-assigned identities
    come back as a map of id -> {principalId, clientId} (the inputs send a list of ids)."""
    if not isinstance(identity, dict):
        return None
    out = dict(identity)
    if "SystemAssigned" in str(identity.get("type", "")):
        out.update({"principalId": stable_guid(type_, name, "principal"), "tenantId": TENANT_ID})
    assigned = identity.get("userAssignedIdentities")
    if isinstance(assigned, list):
        out["userAssignedIdentities"] = {
            i: {"principalId": stable_guid(str(i), "principal"), "clientId": stable_guid(str(i), "client")}
            for i in assigned
            if isinstance(i, str)
        }
    return out


def preview_state(type_: str, inputs: dict) -> dict:
    """Echoed preview state: user-assigned identities come back as a map, as the provider returns them."""
    identity = inputs.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
        inputs = {
            **inputs,
            "identity": {
                **identity,
                "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"] if isinstance(i, str)},
            },
        }
    return inputs


def computed_outputs(type_: str, name: str, inputs: dict) -> dict:
    out: dict[str, Any] = {}
    rid = arm_id(type_, name, inputs)
    physical = _physical_name(type_, name, inputs)
    if rid:
        out["id"] = rid
    out["name"] = physical
    identity = _identity(type_, name, inputs.get("identity"))
    if identity:
        out["identity"] = identity
    suffix = type_.removeprefix("azure-native:")
    extra = _EXTRA.get(suffix)
    if extra:
        out.update(extra(name, physical, inputs, rid))
    return out


def _vault(name, physical, inputs, rid):
    return {"properties": {**(inputs.get("properties") or {}), "vaultUri": f"https://{physical}.vault.azure.net/"}}


def _key(name, physical, inputs, rid):
    uri = f"https://{inputs.get('vaultName')}.vault.azure.net/keys/{physical}"
    return {"keyUri": uri, "keyUriWithVersion": f"{uri}/{stable_guid(rid or name).replace('-', '')}"}


def _storage(name, physical, inputs, rid):
    endpoints = {
        svc: f"https://{physical}.{svc}.core.windows.net/" for svc in ("blob", "dfs", "file", "queue", "table", "web")
    }
    return {"primaryEndpoints": endpoints, "primaryLocation": inputs.get("location")}


def _insights(name, physical, inputs, rid):
    key = stable_guid(rid or name, "ikey")
    region = inputs.get("location", "westeurope")
    return {
        "instrumentationKey": key,
        "appId": stable_guid(rid or name, "app"),
        "connectionString": (
            f"InstrumentationKey={key};IngestionEndpoint=https://{region}-1.in.applicationinsights"
            f".azure.com/;LiveEndpoint=https://{region}.livediagnostics.monitor.azure.com/"
        ),
    }


def _workspace(name, physical, inputs, rid):
    region = inputs.get("location", "westeurope")
    return {
        "workspaceId": stable_guid(rid or name, "ws"),
        "discoveryUrl": f"https://{region}.api.azureml.ms/discovery",
        "mlFlowTrackingUri": f"azureml://{region}.api.azureml.ms/mlflow/v1.0{rid}",
    }


def _endpoint(name, physical, inputs, rid):
    region = "westeurope"
    host = f"{physical}.{region}.inference.ml.azure.com"
    return {
        "properties": {
            **(inputs.get("properties") or {}),
            "scoringUri": f"https://{host}/score",
            "swaggerUri": f"https://{host}/swagger.json",
            "provisioningState": "Succeeded",
        }
    }


def _cluster(name, physical, inputs, rid):
    region = inputs.get("location", "westeurope")
    kubelet = {
        "objectId": stable_guid(rid or name, "kubelet"),
        "clientId": stable_guid(rid or name, "kubelet-client"),
        "resourceId": (
            f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/MC_{physical}/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/{physical}-agentpool"
        ),
    }
    return {
        "identityProfile": {"kubeletidentity": kubelet},
        "fqdn": f"{physical}-dns.hcp.{region}.azmk8s.io",
        "nodeResourceGroup": f"MC_{physical}",
        "oidcIssuerProfile": {
            "enabled": True,
            "issuerURL": f"https://{region}.oic.prod-aks.azure.com/{TENANT_ID}/{stable_guid(physical)}/",
        },
    }


def _user_identity(name, physical, inputs, rid):
    return {
        "principalId": stable_guid(rid or name, "principal"),
        "clientId": stable_guid(rid or name, "client"),
        "tenantId": TENANT_ID,
    }


def _registry(name, physical, inputs, rid):
    return {"loginServer": f"{physical}.azurecr.io"}


def _webapp(name, physical, inputs, rid):
    return {"defaultHostName": f"{physical}.azurewebsites.net"}


def _law(name, physical, inputs, rid):
    return {"customerId": stable_guid(rid or name, "customer")}


_EXTRA = {
    "keyvault:Vault": _vault,
    "keyvault:Key": _key,
    "storage:StorageAccount": _storage,
    "applicationinsights:Component": _insights,
    "machinelearningservices:Workspace": _workspace,
    "machinelearningservices:OnlineEndpoint": _endpoint,
    "containerservice:ManagedCluster": _cluster,
    "managedidentity:UserAssignedIdentity": _user_identity,
    "containerregistry:Registry": _registry,
    "web:WebApp": _webapp,
    "operationalinsights:Workspace": _law,
}


def call(token: str, args: dict) -> dict:
    if token == "azure-native:authorization:getClientConfig":
        return {
            "clientId": DEPLOYER_CLIENT_ID,
            "objectId": DEPLOYER_OBJECT_ID,
            "subscriptionId": SUBSCRIPTION_ID,
            "tenantId": TENANT_ID,
        }
    return {}
