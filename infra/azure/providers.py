"""Resource providers and subscription features a stack needs registered before its first
`pulumi up`.

Azure registers nothing by itself for a deployment that is not a portal or ARM-template
deployment, registration is a subscription-scope action (`Microsoft.<namespace>/register/action`)
the resource-group-scoped CI identity does not have, and pulumi-azure-native has no resource for
it. So it is a one-time administrator step per subscription, listed here from the plan's own
resource types (tests keep this list and the README in step with the stacks):
`az provider register --namespace <ns>` and `az feature register --namespace <ns> --name <f>`.
"""

from __future__ import annotations

from infra.spec import Spec

# azure-native module -> the resource provider namespace its resources live in.
MODULE_NAMESPACES = {
    "applicationinsights": "Microsoft.Insights",
    "consumption": "Microsoft.Consumption",
    "containerregistry": "Microsoft.ContainerRegistry",
    "containerservice": "Microsoft.ContainerService",
    "eventgrid": "Microsoft.EventGrid",
    "keyvault": "Microsoft.KeyVault",
    "kubernetesconfiguration": "Microsoft.KubernetesConfiguration",
    "machinelearningservices": "Microsoft.MachineLearningServices",
    "managedidentity": "Microsoft.ManagedIdentity",
    "monitor": "Microsoft.Insights",
    "network": "Microsoft.Network",
    "operationalinsights": "Microsoft.OperationalInsights",
    "privatedns": "Microsoft.Network",
    "storage": "Microsoft.Storage",
    "web": "Microsoft.Web",
}
# Registered in every subscription.
BUILT_IN_MODULES = frozenset({"authorization", "resources"})


def required_providers(spec: Spec) -> list[str]:
    """Namespaces the stack's resources and the services behind them need."""
    namespaces = {
        "Microsoft.Insights",
        "Microsoft.OperationalInsights",
        "Microsoft.Storage",
        "Microsoft.KeyVault",
        "Microsoft.ContainerRegistry",
        "Microsoft.MachineLearningServices",
        "Microsoft.Consumption",
        "Microsoft.ManagedIdentity",
    }
    if spec.network.mode == "private":
        namespaces.add("Microsoft.Network")
    if spec.kubernetes.enabled:
        # The cluster's nodes are VM scale sets; the azurepolicy add-on reports to Policy Insights.
        namespaces |= {
            "Microsoft.ContainerService",
            "Microsoft.KubernetesConfiguration",
            "Microsoft.Compute",
            "Microsoft.Network",
            "Microsoft.PolicyInsights",
        }
    if spec.storage.customer_managed_keys:
        # A CMK workspace keeps its metadata in Cosmos DB and Azure AI Search in a Microsoft-managed
        # resource group of this subscription (learn.microsoft.com/azure/machine-learning/
        # how-to-setup-customer-managed-keys, "Prerequisites").
        namespaces |= {"Microsoft.DocumentDB", "Microsoft.Search"}
    if spec.serving.active and spec.monitoring.retrain_on_drift:
        # Flex Consumption functions run on Container Apps environments (their subnet delegation).
        namespaces |= {"Microsoft.Web", "Microsoft.EventGrid", "Microsoft.App"}
    return sorted(namespaces)


def required_features(spec: Spec) -> list[tuple[str, str]]:
    """(namespace, feature) pairs to register: encryption at host for the AKS node pools
    (learn.microsoft.com/azure/aks/enable-host-encryption, "Prerequisites")."""
    return [("Microsoft.Compute", "EncryptionAtHost")] if spec.kubernetes.enabled else []
