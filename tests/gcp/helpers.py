"""Small lookups over a GCP plan, used by the GCP test modules."""

from __future__ import annotations

from infra.engine.plan import Plan, PlannedResource

STACKS = ("gcp-dev", "gcp-staging", "gcp-prod")
PROJECT_NUMBER = "123456789012"


def one(plan: Plan, type_: str, name: str | None = None) -> PlannedResource:
    found = [r for r in plan.of_type(type_) if name is None or r.name == name]
    assert len(found) == 1, f"expected one {type_} {name or ''} in {plan.stack}, found {[r.urn for r in found]}"
    return found[0]


def named(plan: Plan, type_: str) -> dict[str, PlannedResource]:
    return {r.name: r for r in plan.of_type(type_)}


def urn_of(plan: Plan, type_: str, name: str) -> str:
    return one(plan, type_, name).urn


BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
SA_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
REPO_IAM = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
ACCOUNT = "gcp:serviceaccount/account:Account"
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
KEY_RING = "gcp:kms/keyRing:KeyRing"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_IAM = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
METADATA = "gcp:vertex/aiMetadataStore:AiMetadataStore"
ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
FEATURES = "gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore"
WORKBENCH = "gcp:workbench/instance:Instance"
TOPIC = "gcp:pubsub/topic:Topic"
TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember"
FUNCTION = "gcp:cloudfunctionsv2/function:Function"
SCHEDULER = "gcp:cloudscheduler/job:Job"
CHANNEL = "gcp:monitoring/notificationChannel:NotificationChannel"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
LOG_METRIC = "gcp:logging/metric:Metric"
BUDGET = "gcp:billing/budget:Budget"
SERVICE = "gcp:projects/service:Service"
IAM_TYPES = (
    BUCKET_IAM,
    PROJECT_IAM,
    SA_IAM,
    REPO_IAM,
    KEY_IAM,
    TOPIC_IAM,
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
)
