"""GCP constants shared by the rule modules."""

from __future__ import annotations

C = "gcp"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
BUCKET = "gcp:storage/bucket:Bucket"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
IAM_DOC = "https://cloud.google.com/iam/docs/using-iam-securely"
GCS_DOC = "https://cloud.google.com/storage/docs/best-practices#security"
GKE_DOC = "https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster"
