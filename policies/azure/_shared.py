"""Azure constants and helpers shared by the rule modules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

C = "azure"
P = "azure-native:"
CLUSTER = P + "containerservice:ManagedCluster"
AGENT_POOL = P + "containerservice:AgentPool"
REGISTRY = P + "containerregistry:Registry"
VAULT = P + "keyvault:Vault"
STORAGE = P + "storage:StorageAccount"
COMPUTE = P + "machinelearningservices:Compute"
WORKSPACE = P + "machinelearningservices:Workspace"
ENDPOINT = P + "machinelearningservices:OnlineEndpoint"
STORAGE_DOC = "https://learn.microsoft.com/azure/storage/blobs/security-recommendations"


def compute_properties(props: Mapping[str, Any]) -> dict:
    """An ML Compute's `properties` (computeType, disableLocalAuth, nested `properties`)."""
    return props.get("properties") or {}
