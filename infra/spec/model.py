"""The stack spec: one strict pydantic model for all three clouds (`mlops:spec` in a stack file).

Field-level constraints live on the fields; rules that relate fields live in model validators and
raise `SpecRuleError` with the exact config path of each problem, so `mlops validate` can print
one line per problem naming `mlops:spec.<path>`.
"""

# Section defaults such as `StorageSpec()` leave out fields that `with_defaults` fills per environment
# before validation, so they look incomplete to a type checker:
# pyright: reportCallIssue=false

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import re
from datetime import date, datetime, timezone
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from infra import catalog
from infra.naming import RULES, NamingError, physical_name
from infra.spec import versions
from infra.spec.defaults import with_defaults

Cloud = Literal["aws", "azure", "gcp"]
Environment = Literal["dev", "staging", "prod"]
SizeClass = Literal["cpu-small", "cpu-medium", "cpu-large", "gpu-small", "gpu-large"]
Path = tuple[str | int, ...]

SLUG_PATTERN = r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
COST_CENTER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
TAG_KEY_PATTERN = r"^[a-z][a-z0-9_-]*$"
TAG_VALUE_PATTERN = r"^[a-z0-9_-]*$"
GITHUB_REPOSITORY_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$"
GIT_BRANCH_PATTERN = r"^[A-Za-z0-9._/-]{1,200}$"
GITHUB_ENVIRONMENT_PATTERN = r"^[A-Za-z0-9._-]{1,200}$"
AWS_OIDC_PROVIDER_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
# What each pattern means, for error messages people can act on.
PATTERN_HELP = {
    SLUG_PATTERN: "use lowercase letters, digits and single hyphens, starting with a letter",
    EMAIL_PATTERN: "use an e-mail address such as team@example.com",
    COST_CENTER_PATTERN: "use letters, digits, '_' and '-'",
    TAG_KEY_PATTERN: "tag keys must be valid on every cloud: lowercase letters, digits, '_' and '-', "
    "starting with a letter",
    TAG_VALUE_PATTERN: "tag values must be valid on every cloud: lowercase letters, digits, '_' and '-'",
    GITHUB_REPOSITORY_PATTERN: "use the GitHub repository as owner/name, e.g. acme/ml-platform-stacks",
    GIT_BRANCH_PATTERN: "use an exact branch name such as main or release/v2 (letters, digits, '.', '_', '-', '/'; "
    "no wildcards)",
    GITHUB_ENVIRONMENT_PATTERN: "use an exact GitHub environment name (letters, digits, '.', '_', '-'; no wildcards)",
    AWS_OIDC_PROVIDER_PATTERN: "use the ARN of the account's GitHub OIDC provider, e.g. "
    "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
}

Slug = Annotated[str, StringConstraints(min_length=2, max_length=24, pattern=SLUG_PATTERN)]
Email = Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)]
CostCenter = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=COST_CENTER_PATTERN)]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=TAG_KEY_PATTERN)]
TagValue = Annotated[str, StringConstraints(max_length=63, pattern=TAG_VALUE_PATTERN)]

# Serving/training images and artifacts: a registry reference or an object-store path.
Image = Annotated[str, StringConstraints(min_length=3, max_length=512, pattern=r"^[^\s]+$")]

_SKU_PATTERNS = {
    "aws": r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
    "azure": r"^Standard_[A-Za-z0-9_]+$",
    "gcp": r"^[a-z][a-z0-9]*-[a-z0-9-]+$",
}
_PRINCIPAL_PATTERNS = {
    "aws": (
        r"^arn:aws[a-z-]*:(iam|sts)::\d{12}:(role|user|assumed-role)/[\w+=,.@/-]+$",
        "an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/DataScientist",
    ),
    "azure": (r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", "an Entra ID object id (GUID)"),
    "gcp": (
        r"^(user|group|serviceAccount):[^@\s]+@[^@\s]+$",
        "an IAM member such as user:alice@example.com or group:ml@example.com",
    ),
}


class SpecRuleError(ValueError):
    """Cross-field problems, each with the config path it is about (relative to the model)."""

    def __init__(self, problems: list[tuple[Path, str]]):
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


def _raise_if(problems: list[tuple[Path, str]]) -> None:
    if problems:
        raise SpecRuleError(problems)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, validate_default=True)


class StorageSpec(Strict):
    """Data lake buckets/containers: versioning, tiering, expiry and encryption."""

    versioning: bool = True
    infrequent_access_after_days: int = Field(30, ge=1, le=3650)
    archive_after_days: int | None = Field(180, ge=1, le=3650)
    expire_after_days: int | None = Field(
        None, ge=1, le=36500, description="Delete current objects after N days; null keeps them."
    )
    noncurrent_version_expire_days: int = Field(30, ge=1, le=3650)
    customer_managed_keys: bool = False
    log_retention_days: int = Field(30, ge=7, le=730)

    @model_validator(mode="after")
    def _ordered_tiers(self) -> StorageSpec:
        problems: list[tuple[Path, str]] = []
        if self.archive_after_days is not None and self.archive_after_days <= self.infrequent_access_after_days:
            problems.append(
                (
                    ("archive_after_days",),
                    f"archive_after_days ({self.archive_after_days}) must be greater than "
                    f"infrequent_access_after_days ({self.infrequent_access_after_days})",
                )
            )
        last_tier = self.archive_after_days or self.infrequent_access_after_days
        if self.expire_after_days is not None and self.expire_after_days <= last_tier:
            problems.append(
                (
                    ("expire_after_days",),
                    f"expire_after_days ({self.expire_after_days}) must be greater than the last "
                    f"tiering step ({last_tier} days), or null to keep objects",
                )
            )
        _raise_if(problems)
        return self


PYTHON_PACKAGE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
PATTERN_HELP[PYTHON_PACKAGE_PATTERN] = "use a top-level Python package name such as my_team_workload"
# Relative, inside the project: no leading '/', no '..' segment.
RELATIVE_PATH_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_-]*(?:[./][A-Za-z0-9_-]+)*/?$"
PATTERN_HELP[RELATIVE_PATH_PATTERN] = "use a folder relative to the project root, e.g. workloads (no '..')"


class WorkloadSpec(Strict):
    """The training code every pipeline run uploads and runs: the reference workload by default,
    or a product team's own package that keeps the same command line (`python -m <package> train
    --data <csv> --out <dir>` writing model/model.joblib, model/baseline.json, model/metrics.json)."""

    package: Annotated[str, StringConstraints(pattern=PYTHON_PACKAGE_PATTERN)] = "mlops_workload"
    path: Annotated[str, StringConstraints(pattern=RELATIVE_PATH_PATTERN)] | None = Field(
        default=None,
        description="Folder holding the package, relative to the project root; null for the "
        "installed reference workload (package mlops_workload).",
    )


class TrainingSpec(Strict):
    """Training compute: scales from zero to max_nodes and back after idle_scale_down_minutes."""

    workload: WorkloadSpec = WorkloadSpec()

    size_class: SizeClass = "cpu-small"
    sku: str | None = Field(None, description="Cloud SKU overriding size_class, e.g. ml.c5.xlarge.")
    max_nodes: int = Field(2, ge=1, le=100)
    spot: bool = False
    idle_scale_down_minutes: int = Field(15, ge=5, le=1440)
    image: Image | None = Field(None, description="Training image; null uses the cloud's scikit-learn image.")


STACK_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$"
ISO_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"


class ModelVersion(Strict):
    """A registered model version (`ref`, see infra.spec.versions) and how it got here."""

    ref: Annotated[str, StringConstraints(min_length=3, max_length=1024, pattern=r"^\S+$")] = Field(
        description="aws: model package ARN; azure: azureml:<name>:<version> or "
        "azureml://registries/<r>/models/<name>/versions/<v>; gcp: "
        "projects/<p>/locations/<l>/models/<id>@<version>."
    )
    promoted_from: Annotated[str, StringConstraints(pattern=STACK_REF_PATTERN)] | None = Field(
        None, description="Stack the version was promoted from (written by mlops promote)."
    )
    approved_by: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\n]+$")] | None = Field(
        None, description="Who approved the version (registry approver or reviewer)."
    )
    approved_at: Annotated[str, StringConstraints(pattern=ISO_TIME_PATTERN)] | None = Field(
        None, description="When it was approved (ISO 8601)."
    )

    @field_validator("approved_at", mode="before")
    @classmethod
    def _iso_text(cls, value):
        # YAML reads an unquoted 2026-11-30 as a date: keep it as the ISO text it was written as.
        return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


class ServingSpec(Strict):
    """Online inference for one model: `enabled` builds the serving platform, `model_version`
    names what it serves (null: nothing yet)."""

    enabled: bool = False
    model_name: Slug | None = None
    image: Image | None = None
    model_version: ModelVersion | None = Field(
        None,
        description="The registered model version to serve; null (day 0) creates the platform and "
        "serves nothing until `mlops promote` names a first approved version.",
    )
    size_class: SizeClass = "cpu-small"
    sku: str | None = None
    serverless: bool = False
    serverless_memory_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = 2048
    min_replicas: int = Field(1, ge=0, le=50)
    max_replicas: int = Field(1, ge=1, le=100)
    target_invocations_per_replica: int = Field(100, ge=1, le=100000)
    data_capture_percent: int = Field(100, ge=1, le=100)

    @model_validator(mode="after")
    def _coherent(self) -> ServingSpec:
        problems: list[tuple[Path, str]] = []
        if self.enabled and self.model_name is None:
            problems.append(
                (
                    ("model_name",),
                    "serving is enabled but no model_name is set; name the model or set serving.enabled: false",
                )
            )
        if self.min_replicas > self.max_replicas:
            problems.append(
                (
                    ("max_replicas",),
                    f"min_replicas ({self.min_replicas}) is greater than "
                    f"max_replicas ({self.max_replicas}); raise max_replicas or lower min_replicas",
                )
            )
        if self.model_version is not None and not self.enabled:
            problems.append(
                (
                    ("model_version",),
                    "a model_version is named but serving is disabled; "
                    "set serving.enabled: true or remove model_version",
                )
            )
        if self.enabled and not self.serverless and self.min_replicas < 1:
            problems.append(
                (
                    ("min_replicas",),
                    "a provisioned endpoint needs min_replicas >= 1; use serverless: true (AWS) to scale to zero",
                )
            )
        _raise_if(problems)
        return self

    @property
    def active(self) -> bool:
        """Serving resources exist: serving is enabled and a model version is named."""
        return self.enabled and self.model_version is not None


class Taint(Strict):
    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9./_-]{1,253}$")]
    value: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{0,63}$")] = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"


class NodePoolSpec(Strict):
    size_class: SizeClass = "cpu-small"
    sku: str | None = None
    min_nodes: int = Field(0, ge=0, le=100)
    max_nodes: int = Field(3, ge=1, le=100)
    spot: bool = False
    taints: list[Taint] = []

    @model_validator(mode="after")
    def _bounds(self) -> NodePoolSpec:
        _raise_if(
            [(("max_nodes",), f"min_nodes ({self.min_nodes}) is greater than max_nodes ({self.max_nodes})")]
            if self.min_nodes > self.max_nodes
            else []
        )
        return self


def _default_gpu_taints() -> list[Taint]:
    return [Taint(key="nvidia.com/gpu", value="present", effect="NoSchedule")]


class GpuPoolSpec(NodePoolSpec):
    size_class: SizeClass = "gpu-small"
    max_nodes: int = Field(2, ge=1, le=100)
    taints: list[Taint] = Field(default_factory=_default_gpu_taints)


class KubernetesSpec(Strict):
    """The inference/training cluster (AKS, GKE). Not part of the AWS design."""

    enabled: bool = False
    version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+(\.\d+)?$")] | None = None
    system_pool: NodePoolSpec = NodePoolSpec(min_nodes=1, max_nodes=2)
    user_pool: NodePoolSpec = NodePoolSpec()
    gpu_pool: GpuPoolSpec | None = None

    @model_validator(mode="after")
    def _pools(self) -> KubernetesSpec:
        problems: list[tuple[Path, str]] = []
        if self.system_pool.min_nodes < 1:
            problems.append((("system_pool", "min_nodes"), "the system pool needs at least 1 node"))
        for name in ("system_pool", "user_pool"):
            if catalog.is_gpu_class(getattr(self, name).size_class):
                problems.append(
                    ((name, "size_class"), f"{name} must use a cpu-* size class; add a gpu_pool for GPU workloads")
                )
        if self.gpu_pool is not None and not catalog.is_gpu_class(self.gpu_pool.size_class):
            problems.append((("gpu_pool", "size_class"), "gpu_pool must use a gpu-* size class"))
        _raise_if(problems)
        return self


class MonitoringSpec(Strict):
    """Drift monitoring, alert thresholds and drift-triggered retraining."""

    drift_threshold: float = Field(0.2, gt=0, le=1)
    schedule: Literal["hourly", "daily", "weekly"] = "daily"
    latency_threshold_ms: int = Field(500, ge=1, le=600000)
    error_rate_threshold_percent: float = Field(1.0, gt=0, le=100)
    alert_emails: list[Email] = Field([], description="Defaults to the owner.")
    retrain_on_drift: bool = True
    retrain_cooldown_hours: int = Field(24, ge=1, le=720)


class BudgetSpec(Strict):
    monthly_usd: float = Field(300, gt=0, le=10_000_000)
    alert_thresholds_percent: list[Annotated[int, Field(ge=1, le=500)]] = [50, 80, 100]

    @model_validator(mode="after")
    def _thresholds(self) -> BudgetSpec:
        t = self.alert_thresholds_percent
        problems = []
        if not t:
            problems.append((("alert_thresholds_percent",), "at least one alert threshold is required"))
        elif list(t) != sorted(set(t)):
            problems.append((("alert_thresholds_percent",), f"thresholds {t} must be strictly increasing"))
        _raise_if(problems)
        return self


class NetworkSpec(Strict):
    mode: Literal["public", "private"] = "public"
    cidr: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+\.\d+\.\d+/\d+$")] = "10.40.0.0/16"
    allowed_cidrs: list[str] = Field([], description="Client ranges allowed to reach public endpoints.")

    @model_validator(mode="after")
    def _cidrs(self) -> NetworkSpec:
        problems: list[tuple[Path, str]] = []
        for path, value in [(("cidr",), self.cidr)] + [
            (("allowed_cidrs", i), c) for i, c in enumerate(self.allowed_cidrs)
        ]:
            try:
                net = ipaddress.ip_network(value, strict=True)
            except ValueError as exc:
                problems.append((path, f"{value!r} is not a valid CIDR block ({exc})"))
                continue
            if path == ("cidr",) and not (net.is_private and 16 <= net.prefixlen <= 20):
                problems.append((path, f"{value} must be a private range between /16 and /20"))
            if path != ("cidr",) and net.prefixlen == 0:
                problems.append((path, "0.0.0.0/0 opens endpoints to the internet; list client ranges"))
        _raise_if(problems)
        return self


class Person(Strict):
    name: Slug
    principal: str = Field(description="AWS IAM ARN, Azure Entra object id, or GCP member (user:...).")


class AccessSpec(Strict):
    admins: list[Person] = []
    data_scientists: list[Person] = []


GitHubRepository = Annotated[str, StringConstraints(pattern=GITHUB_REPOSITORY_PATTERN)]
GitBranch = Annotated[str, StringConstraints(pattern=GIT_BRANCH_PATTERN)]
GitHubEnvironment = Annotated[str, StringConstraints(pattern=GITHUB_ENVIRONMENT_PATTERN)]


class CiSpec(Strict):
    """GitHub Actions identities federated through OIDC (no stored cloud secrets).

    `preview` (read-only) is trusted for pull-request workflows of `repository`; `deploy` for
    workflows on `deploy_branches` and for jobs that run in one of `environments`. Subjects are
    matched exactly: no wildcards.
    """

    repository: GitHubRepository = Field(
        description="GitHub repository (owner/name) whose workflows may assume the identities."
    )
    deploy_branches: list[GitBranch] = Field(["main"], description="Branches whose push workflows may deploy.")
    environments: list[GitHubEnvironment] = Field(
        [],
        description="GitHub environments whose jobs may deploy (protect them with required reviewers "
        "and deployment branch rules).",
    )
    pull_request_previews: bool = Field(True, description="Create the read-only identity for PR previews.")
    aws_oidc_provider_arn: Annotated[str, StringConstraints(pattern=AWS_OIDC_PROVIDER_PATTERN)] | None = Field(
        None,
        description="An AWS account has one GitHub OIDC provider: name the existing one, or leave null "
        "to create it in this stack.",
    )
    state_bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")] | None = Field(
        None,
        description="Bucket of a self-managed Pulumi state backend (S3 or GCS bucket name) that the "
        "identities may read (preview) and write (deploy); null for Pulumi Cloud.",
    )
    state_key: str | None = Field(
        None,
        description="Secrets-provider key of the state backend (AWS KMS key ARN or GCP KMS key name) "
        "that the identities may use; null for passphrase/Pulumi Cloud.",
    )
    repository_id: int | None = Field(
        None,
        ge=1,
        description="Numeric id of the repository (`gh api repos/OWNER/NAME --jq .id`): a "
        "repository re-created under the same name has another id. Required on gcp.",
    )
    repository_owner_id: int | None = Field(
        None,
        ge=1,
        description="Numeric id of the repository's owner (`gh api repos/OWNER/NAME --jq .owner.id`). Required on gcp.",
    )

    @model_validator(mode="after")
    def _subjects(self) -> CiSpec:
        problems: list[tuple[Path, str]] = []
        if not self.deploy_branches:
            problems.append(
                (
                    ("deploy_branches",),
                    "at least one deploy branch is required (e.g. [main]); "
                    "remove the ci section to create no CI identities",
                )
            )
        for key in ("deploy_branches", "environments"):
            values = getattr(self, key)
            for i, value in enumerate(values):
                if value in values[:i]:
                    problems.append(((key, i), f"duplicate {value!r}"))
        for i, branch in enumerate(self.deploy_branches):
            if ".." in branch or branch.startswith(("/", "-", ".")) or branch.endswith(("/", ".", ".lock")):
                problems.append((("deploy_branches", i), f"{branch!r} is not a valid git branch name"))
            if branch.startswith("refs/"):
                problems.append((("deploy_branches", i), f"give the branch name without refs/heads/ (got {branch!r})"))
        _raise_if(problems)
        return self

    @property
    def preview_subjects(self) -> list[str]:
        """OIDC `sub` claims of this repository's pull-request workflows (none if previews are off)."""
        return [f"repo:{self.repository}:pull_request"] if self.pull_request_previews else []

    @property
    def deploy_subjects(self) -> list[str]:
        """OIDC `sub` claims of workflows on the deploy branches and of jobs in the environments."""
        return [f"repo:{self.repository}:ref:refs/heads/{b}" for b in self.deploy_branches] + [
            f"repo:{self.repository}:environment:{e}" for e in self.environments
        ]


GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"


class AwsSettings(Strict):
    vpc_id: Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-f]{8,17}$")] | None = None
    subnet_ids: list[Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = []
    drift_features: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,200}$")]] = Field(
        [],
        max_length=20,
        description="Features whose Model Monitor metric feature_baseline_drift_<name> is alarmed on "
        "(CloudWatch has no wildcard alarm); empty means no drift alarm and no retraining.",
    )
    drift_check: Literal["lambda", "model_monitor"] = Field(
        "lambda",
        description="How drift is computed: `lambda` (a scheduled function running the shared drift "
        "engine on the endpoint's data capture; works on every account) or `model_monitor` "
        "(SageMaker Model Monitor, closed to new customers since 2026-07-30: only for "
        "accounts that already use it).",
    )
    budget_scope: Literal["account", "stack_tag"] = Field(
        "account",
        description="What the monthly budget counts: the whole account (counts from day 0) or the "
        "`stack` cost-allocation tag (counts only once the tag is activated in the "
        "management account, which cannot happen before the tag has been in use ~24 h).",
    )
    retrain_window_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="Days of data up to the drift alarm that a drift-triggered "
        "retraining run trains on (pipeline DataWindowStart/End).",
    )


GUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
HOSTNAME_PATTERN = r"^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
# The Azure Cosmos DB first-party application; its service principal's object id differs per tenant.
COSMOS_DB_APP_ID = "a232010e-820c-4083-83bb-3ace5fc29d0b"


class AzureSettings(Strict):
    subnet_id: Annotated[str, StringConstraints(pattern=r"^/subscriptions/.+/subnets/.+$")] | None = None
    cosmos_db_object_id: Annotated[str, StringConstraints(pattern=GUID_PATTERN)] | None = Field(
        None,
        description="Object id of the Azure Cosmos DB service principal in this tenant "
        f"(`az ad sp show --id {COSMOS_DB_APP_ID} --query id -o tsv`); a workspace with a "
        "customer-managed key needs it to grant Cosmos DB access to the key first.",
    )
    scoring_hostname: Annotated[str, StringConstraints(max_length=253, pattern=HOSTNAME_PATTERN)] | None = Field(
        None,
        description="DNS name clients use for the AKS inference router (the ML extension's sslCname); "
        "its certificate and key are the stack's secrets mlops:scoringTlsCertificate and "
        "mlops:scoringTlsKey (PEM).",
    )


class GcpSettings(Strict):
    project_id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]
    billing_account: Annotated[str, StringConstraints(pattern=r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")]
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    network: str | None = Field(None, description="Existing VPC self link/name; null creates one.")
    subnetwork: str | None = None
    feature_store: bool = Field(
        False,
        description="Create a Vertex AI feature online store (Bigtable-backed: at least one node billed "
        "around the clock, whether or not anything reads it). The stack creates no feature "
        "views; turn it on when the team defines some.",
    )
    metadata_store: Literal["create", "adopt"] = Field(
        "create",
        description="Vertex AI keeps pipeline and experiment lineage in the region's store named "
        "`default`, which Vertex creates on first use: `create` (a fresh project) makes "
        "it with the stack's key; `adopt` imports the one that already exists.",
    )


RULE_NAME_PATTERN = r"^(aws|azure|gcp)(-[a-z0-9]+)+$"
LOGICAL_NAME_PATTERN = r"^(\*|[A-Za-z0-9][A-Za-z0-9._\-]{0,199})$"


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


class Waiver(Strict):
    """An approved, expiring exception to one policy rule for one resource (`*`: every resource)."""

    rule: Annotated[str, StringConstraints(pattern=RULE_NAME_PATTERN)] = Field(
        description="The policy rule waived, e.g. aws-stack-code-require-upload."
    )
    resource: Annotated[str, StringConstraints(pattern=LOGICAL_NAME_PATTERN)] = Field(
        description="The logical resource name (last part of its URN), or * for every resource."
    )
    reason: Annotated[str, StringConstraints(min_length=10, max_length=500)]
    approved_by: Email
    expires: Annotated[date, Field(strict=False, description="ISO date; the waiver applies through that day (UTC).")]


class PolicySpec(Strict):
    """Policy exceptions in code: each waived violation is still reported, as waived."""

    waivers: list[Waiver] = Field([], max_length=50)

    @model_validator(mode="after")
    def _waivers_current(self) -> PolicySpec:
        problems: list[tuple[Path, str]] = []
        today, seen = utc_today(), set()
        for i, w in enumerate(self.waivers):
            if w.expires < today:
                problems.append(
                    (
                        ("waivers", i, "expires"),
                        f"waiver of {w.rule} for {w.resource!r} expired on {w.expires.isoformat()}; "
                        "fix the violation, or renew the waiver (new expires, approved again)",
                    )
                )
            if (w.rule, w.resource) in seen:
                problems.append((("waivers", i), f"duplicate waiver of {w.rule} for {w.resource!r}"))
            seen.add((w.rule, w.resource))
        _raise_if(problems)
        return self


class Spec(Strict):
    """One MLOps platform stack. Omitted fields take their environment's defaults."""

    team: Slug
    project: Slug = "ml-platform"
    cloud: Cloud
    environment: Environment
    region: str
    owner: Email
    cost_center: CostCenter
    tags: dict[TagKey, TagValue] = Field({}, description="Extra tags; the required tags always win.")
    allow_gpu: bool = False
    multi_zone: bool = False
    storage: StorageSpec = StorageSpec()
    training: TrainingSpec = TrainingSpec()
    serving: ServingSpec = ServingSpec()
    kubernetes: KubernetesSpec = KubernetesSpec()
    monitoring: MonitoringSpec = MonitoringSpec()
    budget: BudgetSpec = BudgetSpec()
    network: NetworkSpec = NetworkSpec()
    access: AccessSpec = AccessSpec()
    aws: AwsSettings | None = None
    azure: AzureSettings | None = None
    gcp: GcpSettings | None = None
    ci: CiSpec | None = Field(None, description="GitHub Actions OIDC identities for this stack; null creates none.")
    policy: PolicySpec = PolicySpec()

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, raw):
        return with_defaults(raw)

    @model_validator(mode="after")
    def _cross_field(self) -> Spec:
        problems: list[tuple[Path, str]] = []
        for rule in _RULES:
            problems.extend(rule(self))
        _raise_if(problems)
        return self

    @property
    def alert_emails(self) -> list[str]:
        return list(self.monitoring.alert_emails) or [self.owner]

    def sku(self, size_class: str, override: str | None) -> catalog.Sku:
        return catalog.resolve_sku(self.cloud, size_class, override)

    @property
    def served_version(self) -> versions.ModelVersionRef | None:
        """The parsed `serving.model_version.ref` (None at day 0 or with serving disabled)."""
        version = self.serving.model_version
        if not self.serving.enabled or version is None:  # i.e. not self.serving.active
            return None
        return versions.parse(self.cloud, version.ref)


_CLOUD_NAMES = {"aws": "an AWS", "azure": "an Azure", "gcp": "a GCP"}


def _region_rule(spec: Spec):
    valid = catalog.regions()[spec.cloud]
    if spec.region not in valid:
        hint = difflib.get_close_matches(spec.region, valid, n=1)
        other = [c for c, names in catalog.regions().items() if spec.region in names]
        why = f"; it is {_CLOUD_NAMES[other[0]]} region" if other else ""
        fix = f"; did you mean {hint[0]!r}?" if hint else f"; valid: {', '.join(valid[:6])}, ..."
        yield ("region",), f"{spec.region!r} is not a supported {spec.cloud} region{why}{fix}"


def _cloud_section_rule(spec: Spec):
    for cloud in catalog.CLOUDS:
        if cloud != spec.cloud and getattr(spec, cloud) is not None:
            yield (cloud,), f"the {cloud} section does not apply to {_CLOUD_NAMES[spec.cloud]} stack; remove it"
    if spec.cloud == "gcp" and spec.gcp is None:
        yield ("gcp",), "a gcp stack needs a gcp section with project_id and billing_account"
    if spec.aws and spec.aws.subnet_ids and not spec.aws.vpc_id:
        yield ("aws", "vpc_id"), "subnet_ids were given without the vpc_id they belong to"
    if spec.aws and spec.aws.vpc_id and len(spec.aws.subnet_ids) < 2:
        yield ("aws", "subnet_ids"), "an existing VPC needs at least two private subnet_ids in different AZs"


_STATE_KEY_PATTERNS = {
    "aws": (
        r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$",
        "a KMS key ARN, e.g. arn:aws:kms:us-east-1:123456789012:key/<key id>",
    ),
    "gcp": (
        r"^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/locations/[a-z0-9-]+/keyRings/[A-Za-z0-9_-]+"
        r"/cryptoKeys/[A-Za-z0-9_-]+$",
        "a KMS key name, e.g. projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>",
    ),
}


def _gcp_rule(spec: Spec):
    if spec.cloud == "gcp" and spec.training.spot:
        yield (
            ("training", "spot"),
            (
                "a Vertex AI pipeline task runs on an on-demand machine (the pipeline spec "
                "has no Spot scheduling); set training.spot: false"
            ),
        )
    if spec.cloud == "gcp" and spec.training.max_nodes != 1:
        yield (
            ("training", "max_nodes"),
            (
                f"the GCP training pipeline runs the workload on one machine; set "
                f"training.max_nodes: 1 (got {spec.training.max_nodes}) and size it with "
                "training.size_class"
            ),
        )
    if spec.gcp and spec.gcp.metadata_store == "adopt" and spec.storage.customer_managed_keys:
        yield (
            ("gcp", "metadata_store"),
            (
                "an existing `default` metadata store keeps the encryption it was created with (Vertex makes it "
                "with a Google-managed key) and cannot be re-keyed; delete it first (README, GCP) and use create, "
                "or use a project whose Vertex AI was never used"
            ),
        )


def _ci_rule(spec: Spec):
    ci = spec.ci
    if ci is None:
        return
    if spec.cloud == "gcp":
        for key, claim in (("repository_id", ".id"), ("repository_owner_id", ".owner.id")):
            if getattr(ci, key) is None:
                yield (
                    ("ci", key),
                    (
                        f"the GCP workload identity provider also checks the token's numeric {key} "
                        "(a renamed or re-created repository keeps the name, not the id); set it "
                        f"from `gh api repos/{ci.repository} --jq {claim}`"
                    ),
                )
    if ci.aws_oidc_provider_arn and spec.cloud != "aws":
        yield (
            ("ci", "aws_oidc_provider_arn"),
            f"aws_oidc_provider_arn does not apply to {_CLOUD_NAMES[spec.cloud]} stack; remove it",
        )
    for key in ("state_bucket", "state_key"):
        if getattr(ci, key) is not None and spec.cloud not in _STATE_KEY_PATTERNS:
            yield (
                ("ci", key),
                (
                    f"{key} applies to aws and gcp stacks; on azure grant the CI identities access "
                    "to the state storage account where it is bootstrapped, and remove it"
                ),
            )
    if ci.state_key is not None and spec.cloud in _STATE_KEY_PATTERNS:
        pattern, example = _STATE_KEY_PATTERNS[spec.cloud]
        if not re.fullmatch(pattern, ci.state_key):
            yield ("ci", "state_key"), f"{ci.state_key!r} is not a valid {spec.cloud} secrets key; expected {example}"


def _workloads():
    """(path, size_class, sku override, used?) for every compute workload in a spec."""

    def pick(spec: Spec):
        k = spec.kubernetes
        yield ("training",), spec.training.size_class, spec.training.sku, True
        yield ("serving",), spec.serving.size_class, spec.serving.sku, spec.serving.enabled
        for name in ("system_pool", "user_pool", "gpu_pool"):
            pool = getattr(k, name)
            if pool is not None:
                yield ("kubernetes", name), pool.size_class, pool.sku, k.enabled

    return pick


def _sku_rule(spec: Spec):
    for path, _size_class, sku, _ in _workloads()(spec):
        if sku is None:
            continue
        if not re.fullmatch(_SKU_PATTERNS[spec.cloud], sku):
            yield (
                path + ("sku",),
                f"{sku!r} is not {_CLOUD_NAMES[spec.cloud]} SKU name (pattern {_SKU_PATTERNS[spec.cloud]})",
            )
        elif catalog.known_sku(spec.cloud, sku) is None:
            hint = difflib.get_close_matches(sku, catalog.known_sku_names(spec.cloud), n=1)
            yield (
                path + ("sku",),
                (
                    f"{sku!r} is not in the price catalog (infra/data/catalog.yaml)"
                    + (f"; did you mean {hint[0]!r}?" if hint else "; add it with its price")
                ),
            )


def _gpu_rule(spec: Spec):
    if spec.allow_gpu:
        return
    for path, size_class, sku, used in _workloads()(spec):
        gpu = spec.sku(size_class, sku).gpus > 0 if _known(spec, sku) else catalog.is_gpu_class(size_class)
        if used and gpu:
            yield (
                path + ("sku" if sku else "size_class",),
                (
                    f"GPU compute is not allowed in {spec.environment} stacks by default; "
                    "use a cpu-* size class or set allow_gpu: true"
                ),
            )


def _known(spec: Spec, sku: str | None) -> bool:
    return sku is None or catalog.known_sku(spec.cloud, sku) is not None


def _environment_rule(spec: Spec):
    if spec.environment != "prod":
        return
    if spec.serving.enabled and spec.serving.serverless:
        yield ("serving", "serverless"), "prod serving must be provisioned (serverless: false) for predictable latency"
    if spec.serving.enabled and spec.serving.min_replicas < 2:
        yield (
            ("serving", "min_replicas"),
            (f"prod serving needs at least 2 replicas for availability (got {spec.serving.min_replicas})"),
        )
    if spec.network.mode != "private":
        yield ("network", "mode"), "prod stacks must use private networking (network.mode: private)"
    if not spec.storage.versioning:
        yield ("storage", "versioning"), "prod data stores must keep versions (storage.versioning: true)"
    if not spec.storage.customer_managed_keys:
        yield ("storage", "customer_managed_keys"), "prod data must be encrypted with customer-managed keys"


def _aws_key_rule(spec: Spec):
    if spec.cloud == "aws" and not spec.storage.customer_managed_keys:
        yield (
            ("storage", "customer_managed_keys"),
            (
                "AWS stacks need their customer managed key (1 USD/month): CloudWatch alarms can publish only to an "
                "SNS topic encrypted with a customer managed key (the AWS managed aws/sns key cannot be opened to "
                "cloudwatch.amazonaws.com), and the alerts are the drift loop; set customer_managed_keys: true"
            ),
        )


def _cloud_feature_rule(spec: Spec):
    if spec.serving.serverless and spec.cloud != "aws" and spec.serving.enabled:
        yield (
            ("serving", "serverless"),
            (
                f"serverless endpoints are only offered on aws; on {spec.cloud} "
                "set serverless: false (and min_replicas >= 1) or disable serving"
            ),
        )
    if spec.cloud == "azure" and spec.kubernetes.system_pool.spot:
        yield ("kubernetes", "system_pool", "spot"), "AKS system node pools cannot use spot VMs; set spot: false"
    if spec.kubernetes.enabled and spec.cloud == "aws":
        yield ("kubernetes", "enabled"), "the AWS architecture serves on SageMaker; set kubernetes.enabled: false"
    if (
        spec.serving.enabled
        and spec.cloud in ("azure", "gcp")
        and not spec.kubernetes.enabled
        and spec.cloud == "azure"
    ):
        yield ("kubernetes", "enabled"), "Azure serving runs on the AKS cluster; enable kubernetes or disable serving"


# The Azure ML extension needs at least 4 vCPUs and 14 GB on nodes it can schedule on (its pods
# do not tolerate the spot taint): learn.microsoft.com/azure/machine-learning/how-to-deploy-kubernetes-extension
AML_EXTENSION_MIN_VCPUS, AML_EXTENSION_MIN_MEMORY_GIB = 4, 14


def aml_extension_capacity(spec: Spec) -> tuple[int, float]:
    """vCPUs and memory (GiB) of the always-on nodes of the system and user pools (spot pools,
    refused on Azure below, would not count)."""
    classes = catalog.catalog()["classes"]
    vcpus, memory = 0, 0.0
    for name in ("system_pool", "user_pool"):
        pool = getattr(spec.kubernetes, name)
        if pool.spot:
            continue
        override = catalog.known_sku(spec.cloud, pool.sku) if pool.sku else None
        size = classes[override.size_class if override and override.size_class else pool.size_class]
        vcpus += pool.min_nodes * size["vcpus"]
        memory += pool.min_nodes * size["memory_gib"]
    return vcpus, memory


def _azure_rule(spec: Spec):
    if spec.cloud != "azure":
        return
    settings = spec.azure or AzureSettings()
    if spec.storage.customer_managed_keys and settings.cosmos_db_object_id is None:
        yield (
            ("azure", "cosmos_db_object_id"),
            (
                "a workspace with customer-managed keys needs the object id of this tenant's Azure Cosmos DB "
                f"service principal (az ad sp show --id {COSMOS_DB_APP_ID} --query id -o tsv)"
            ),
        )
    if spec.kubernetes.enabled:
        vcpus, memory = aml_extension_capacity(spec)
        if vcpus < AML_EXTENSION_MIN_VCPUS or memory < AML_EXTENSION_MIN_MEMORY_GIB:
            yield (
                ("kubernetes", "system_pool", "min_nodes"),
                (
                    f"the Azure ML extension needs {AML_EXTENSION_MIN_VCPUS} vCPUs and {AML_EXTENSION_MIN_MEMORY_GIB} GB "
                    f"on non-spot nodes; the system and user pools give {vcpus} vCPUs / {memory:g} GB at their "
                    "minimum: use a larger size_class or more min_nodes"
                ),
            )
    if spec.kubernetes.enabled:
        for name in ("user_pool", "gpu_pool"):
            pool = getattr(spec.kubernetes, name)
            if pool is not None and pool.spot:
                yield (
                    ("kubernetes", name, "spot"),
                    (
                        "Azure ML workloads never land on AKS spot nodes (instance types created through ARM "
                        "carry no toleration for the spot taint); set spot: false and min_nodes: 0 to scale to zero"
                    ),
                )
    if spec.serving.active and settings.scoring_hostname is None:
        yield (
            ("azure", "scoring_hostname"),
            (
                "AKS serving needs the DNS name clients use for the inference router (its TLS certificate is "
                "issued for it); set azure.scoring_hostname"
            ),
        )


def _model_version_rule(spec: Spec):
    version = spec.serving.model_version
    if version is None:
        return
    path = ("serving", "model_version", "ref")
    try:
        parsed = versions.parse(spec.cloud, version.ref)
    except ValueError as exc:
        yield path, str(exc)
        return
    if isinstance(parsed, versions.SageMakerModelPackage) and parsed.region != spec.region:
        yield (
            path,
            (
                f"the model package is in {parsed.region} but the stack serves in {spec.region}; "
                "SageMaker models are regional: register the version in the stack's region"
            ),
        )
    if isinstance(parsed, versions.VertexModelVersion):
        if parsed.region != spec.region:
            yield (
                path,
                (
                    f"the model is in {parsed.region} but the endpoint is in {spec.region}; copy it "
                    f"(gcloud ai models copy --region={spec.region}) and name the copy"
                ),
            )
        elif spec.gcp is not None and parsed.project != spec.gcp.project_id and not parsed.project.isdigit():
            yield (
                path,
                (
                    f"the model is in project {parsed.project} but the stack is {spec.gcp.project_id}; "
                    "Vertex endpoints serve models of their own project: copy it (gcloud ai models copy "
                    f"--project={spec.gcp.project_id}) and name the copy"
                ),
            )


def _principal_rule(spec: Spec):
    pattern, example = _PRINCIPAL_PATTERNS[spec.cloud]
    for group in ("admins", "data_scientists"):
        people = getattr(spec.access, group)
        seen: set[str] = set()
        for i, person in enumerate(people):
            if not re.fullmatch(pattern, person.principal):
                yield (
                    ("access", group, i, "principal"),
                    (f"{person.principal!r} is not {_CLOUD_NAMES[spec.cloud]} principal; expected {example}"),
                )
            if person.name in seen:
                yield ("access", group, i, "name"), f"duplicate name {person.name!r}"
            seen.add(person.name)


def _naming_rule(spec: Spec):
    services = [
        s
        for s in RULES
        if s.startswith(
            {
                "aws": ("s3", "sagemaker", "iam", "lambda", "ecr", "aws"),
                "azure": ("azure",),
                "gcp": ("gcs", "gcp", "gke"),
            }[spec.cloud]
        )
    ]
    for service in services:
        try:
            physical_name(service, spec.team, spec.environment, "artifacts")
        except NamingError as exc:
            yield ("team",), f"{exc}; choose another team name"
            return


def _budget_rule(spec: Spec):
    floor, basis = baseline_monthly_usd(spec)
    if spec.budget.monthly_usd < floor:
        yield (
            ("budget", "monthly_usd"),
            (
                f"{spec.budget.monthly_usd:g} USD is below the always-on cost of this stack "
                f"(~{floor:.0f} USD/month: {basis}); raise the budget or shrink those resources"
            ),
        )


def baseline_monthly_usd(spec: Spec) -> tuple[float, str]:
    """Always-on compute a stack pays for regardless of traffic (list prices, 730 h/month)."""
    parts: list[tuple[float, str]] = []
    if spec.serving.active and not spec.serving.serverless:
        sku = _priced(spec, spec.serving.size_class, spec.serving.sku)
        parts.append(
            (
                spec.serving.min_replicas * sku.usd_per_hour * catalog.HOURS_PER_MONTH,
                f"{spec.serving.min_replicas} x {sku.name} serving",
            )
        )
    if spec.kubernetes.enabled:
        for name in ("system_pool", "user_pool", "gpu_pool"):
            pool = getattr(spec.kubernetes, name)
            if pool is not None and pool.min_nodes:
                sku = _priced(spec, pool.size_class, pool.sku)
                price = sku.usd_per_hour * (catalog.spot_fraction(spec.cloud) if pool.spot else 1)
                parts.append(
                    (pool.min_nodes * price * catalog.HOURS_PER_MONTH, f"{pool.min_nodes} x {sku.name} {name}")
                )
    total = sum(p for p, _ in parts)
    return total, ", ".join(b for _, b in parts) or "nothing always-on"


def _priced(spec: Spec, size_class: str, sku: str | None) -> catalog.Sku:
    return spec.sku(size_class, sku if _known(spec, sku) else None)


_RULES = [
    _region_rule,
    _cloud_section_rule,
    _aws_key_rule,
    _sku_rule,
    _gpu_rule,
    _environment_rule,
    _cloud_feature_rule,
    _principal_rule,
    _naming_rule,
    _budget_rule,
    _ci_rule,
    _model_version_rule,
    _azure_rule,
    _gcp_rule,
]
