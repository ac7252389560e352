"""Retraining: the drift topic, the scheduled drift check, and the Cloud Function that runs the
check and submits the training pipeline when the drift alert fires (README: "Drift monitoring on GCP")."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pulumi
import pulumi_gcp as gcp

from infra import code_assets
from infra.context import StackContext
from infra.gcp.common import child, gcp_settings, propagation_wait
from infra.gcp.datalake import DataLake
from infra.gcp.encryption import Encryption
from infra.gcp.identity import Identity
from infra.gcp.pipeline_spec import pipeline_spec
from infra.gcp.registry import Registry
from infra.gcp.services import Services
from infra.gcp.vertex import Vertex

RUNTIME = Path(__file__).resolve().parent / "runtime"
PIPELINE_RUNTIME = Path(__file__).resolve().parent / "pipeline_runtime"
CRON = {"hourly": "0 * * * *", "daily": "0 6 * * *", "weekly": "0 6 * * 1"}
# Each check compares the captures since the previous one: the window is the schedule's period.
WINDOW_HOURS = {"hourly": 1, "daily": 24, "weekly": 168}
PIPELINE_PREFIX = "pipelines"
DRIFT_CHECK = {"kind": "drift_check"}


def function_source() -> code_assets.CodeBundle:
    """main.py and requirements.txt at the root, the reference workload package beside them (the
    function imports its drift engine and capture reader): a new object key, and so a rebuild,
    exactly when any of it changes."""
    return code_assets.bundle(runtime=RUNTIME, files=("main.py", "requirements.txt"))


def model_resource(ctx: StackContext) -> str:
    """The Vertex model whose versions the pipeline registers (serving.model_version names one)."""
    spec = ctx.spec
    return (
        f"projects/{gcp_settings(ctx).project_id}/locations/{spec.region}/models/{spec.serving.model_name or spec.team}"
    )


def training_code_for(ctx: StackContext) -> code_assets.CodeBundle:
    """The stack's workload package (`training.workload`) with the pipeline step at the root."""
    return code_assets.bundle(ctx.spec.training.workload, runtime=PIPELINE_RUNTIME, files=("train_and_register.py",))


def function_environment(
    ctx: StackContext,
    *,
    artifacts: pulumi.Input[str],
    spec_uri: pulumi.Input[str],
    monitoring: pulumi.Input[str],
    data: pulumi.Input[str],
    pipelines_sa: pulumi.Input[str],
    drift_policy: str,
    kms_key: pulumi.Input[str] | None,
    capture_table: pulumi.Input[str] | None,
) -> dict[str, pulumi.Input[str]]:
    m = ctx.spec.monitoring
    served = ctx.spec.serving.model_version if ctx.spec.serving.active else None
    env: dict[str, pulumi.Input[str]] = {
        "PROJECT_ID": gcp_settings(ctx).project_id,
        "REGION": ctx.spec.region,
        "PIPELINE_SPEC_URI": spec_uri,
        "PIPELINE_ROOT": pulumi.Output.concat("gs://", artifacts, "/pipeline-root"),
        "PIPELINE_SERVICE_ACCOUNT": pipelines_sa,
        # The served version (its baseline sits next to its artifacts); "" on day 0: checks skip.
        "MODEL_VERSION": served.ref if served is not None else "",
        "CAPTURE_TABLE": capture_table if capture_table is not None else "",
        "STATE_BUCKET": monitoring,
        "DRIFT_THRESHOLD": str(m.drift_threshold),
        "COOLDOWN_HOURS": str(m.retrain_cooldown_hours),
        "WINDOW_HOURS": str(WINDOW_HOURS[m.schedule]),
        "RETRAIN_ON_DRIFT": str(m.retrain_on_drift).lower(),
        "DRIFT_POLICY": drift_policy,
        # Pipeline runs (and the jobs they start) carry the stack's labels.
        "RUN_LABELS": json.dumps(dict(ctx.tags), sort_keys=True),
        # The data a drift-triggered run trains on: the newest ingested CSV (the step picks it).
        "TRAINING_DATA_URI": pulumi.Output.concat("gs://", data, "/ingest/"),
    }
    if kms_key is not None:
        env["KMS_KEY"] = kms_key
    return env


class Retraining(pulumi.ComponentResource):
    """`retraining.topic` (for the monitoring channel) and `retraining.function_name` (for the
    drift log metric)."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        services: Services,
        datalake: DataLake,
        registry: Registry,
        identity: Identity,
        encryption: Encryption | None,
        vertex: Vertex,
        drift_policy: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:gcp:Retraining", name, None, opts)
        spec, project, region = ctx.spec, gcp_settings(ctx).project_id, ctx.spec.region
        kms = encryption.key_id if encryption else None
        self.topic = gcp.pubsub.Topic(
            f"{name}-topic",
            name=ctx.name("gcp_generic", "drift"),
            project=project,
            kms_key_name=kms,
            message_storage_policy={"allowed_persistence_regions": [region]},
            message_retention_duration="86400s",
            opts=child(self, services.apis("pubsub") + (encryption.grants if encryption else [])),
        )
        # The training code and the compiled pipeline that runs it, both content-addressed.
        code = training_code_for(ctx)
        code_object = gcp.storage.BucketObject(
            f"{name}-training-code",
            bucket=datalake.releases.name,
            name=code.object_key(PIPELINE_PREFIX, "code"),
            content_type="application/zip",
            source=code.asset_archive(),
            opts=child(self),
        )
        spec_json = pulumi.Output.all(
            datalake.releases.name, code_object.name, datalake.artifacts.name, kms if kms is not None else ""
        ).apply(
            lambda a: json.dumps(
                pipeline_spec(
                    name=ctx.name("gcp_generic", "training"),
                    bundle_uri=f"gs://{a[0]}/{a[1]}",
                    package=spec.training.workload.package,
                    model=model_resource(ctx),
                    region=region,
                    artifacts_uri=f"gs://{a[2]}/models/{spec.serving.model_name or spec.team}",
                    size_class=spec.training.size_class,
                    labels=dict(ctx.tags),
                    kms_key=a[3],
                ),
                sort_keys=True,
            )
        )
        spec_object = gcp.storage.BucketObject(
            f"{name}-pipeline-spec",
            bucket=datalake.releases.name,
            name=f"{PIPELINE_PREFIX}/training-{code.short_hash}.json",
            content_type="application/json",
            content=spec_json,
            opts=child(self),
        )
        spec_uri = pulumi.Output.concat("gs://", datalake.releases.name, "/", spec_object.name)
        bundle = function_source()
        source = gcp.storage.BucketObject(
            f"{name}-source",
            bucket=datalake.releases.name,
            name=bundle.object_key("functions", "drift-retrain"),
            content_type="application/zip",
            source=bundle.asset_archive(),
            opts=child(self),
        )
        self.function_name = ctx.name("gcp_generic", "drift-retrain")
        # The build runs as `builder`, the service and trigger as `retrain`, the trigger through the
        # Eventarc agent (created here: "Permission denied while using the Eventarc Service Agent"
        # otherwise on a project's first trigger): the function waits until all of it has settled.
        eventarc_agent = gcp.projects.ServiceIdentity(
            f"{name}-eventarc-agent",
            project=project,
            service="eventarc.googleapis.com",
            opts=child(self, services.apis("eventarc")),
        )
        settled = propagation_wait(
            f"{name}-iam-settled",
            self,
            identity.grants["builder"] + identity.grants["retrain"] + vertex.capture_readers + [eventarc_agent],
        )
        retrain_sa = identity.emails["retrain"]
        self.function = gcp.cloudfunctionsv2.Function(
            f"{name}-function",
            name=self.function_name,
            project=project,
            location=region,
            description="Scheduled drift check and drift-triggered retraining",
            kms_key_name=kms,
            build_config={
                "runtime": "python312",
                "entry_point": "handle",
                "source": {"storage_source": {"bucket": datalake.releases.name, "object": source.name}},
                "service_account": identity.accounts["builder"].name,
                "docker_repository": registry.repository.id,
            },
            service_config={
                # One instance, one request at a time: two incidents cannot both pass the cooldown.
                "min_instance_count": 0,
                "max_instance_count": 1,
                "max_instance_request_concurrency": 1,
                "available_memory": "512Mi",
                "timeout_seconds": 540,
                "ingress_settings": "ALLOW_INTERNAL_ONLY",
                "all_traffic_on_latest_revision": True,
                "service_account_email": retrain_sa,
                "environment_variables": function_environment(
                    ctx,
                    artifacts=datalake.artifacts.name,
                    spec_uri=spec_uri,
                    monitoring=datalake.monitoring.name,
                    data=datalake.data.name,
                    pipelines_sa=identity.emails["pipelines"],
                    drift_policy=drift_policy,
                    kms_key=kms,
                    capture_table=vertex.capture_table,
                ),
            },
            event_trigger={
                "trigger_region": region,
                "event_type": "google.cloud.pubsub.topic.v1.messagePublished",
                "pubsub_topic": self.topic.id,  # A failed drift check or pipeline submission is redelivered (with backoff, for
                # the topic's retention); the handler is idempotent per incident.
                "retry_policy": "RETRY_POLICY_RETRY",
                "service_account_email": retrain_sa,
            },
            opts=child(
                self,
                services.apis("cloudfunctions", "cloudbuild", "run", "eventarc")
                + [settled]
                + (encryption.grants if encryption else []),
            ),
        )
        # The trigger's identity may invoke this function's service, and nothing else.
        gcp.cloudrunv2.ServiceIamMember(
            f"{name}-invoker",
            project=project,
            location=region,
            name=self.function.name,
            role="roles/run.invoker",
            member=pulumi.Output.concat("serviceAccount:", retrain_sa),
            opts=child(self),
        )
        self.schedule = gcp.cloudscheduler.Job(
            f"{name}-schedule",
            name=ctx.name("gcp_generic", "drift-check"),
            project=project,
            region=region,
            description="Scheduled drift check",
            schedule=CRON[spec.monitoring.schedule],
            time_zone="Etc/UTC",
            pubsub_target={
                "topic_name": self.topic.id,
                "attributes": dict(DRIFT_CHECK),
                "data": base64.b64encode(json.dumps(DRIFT_CHECK).encode()).decode(),
            },
            opts=child(self, services.apis("cloudscheduler")),
        )
        self.register_outputs({"topic": self.topic.id, "function": self.function.name})
