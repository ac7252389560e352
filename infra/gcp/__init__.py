"""The GCP reference architecture: Vertex AI, GKE, GCS and friends, as Pulumi ComponentResources.

Importing this package does not import pulumi-gcp; `infra.gcp.program.deploy` does.
"""
