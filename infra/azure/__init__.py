"""Azure reference architecture: Azure ML, AKS, Key Vault, a data lake and monitoring.

Importing this package must not import the Azure SDK (the core runs without it); the SDK is
imported by `infra.azure.program` and the component modules only.
"""
