"""AWS adapter: the stack's plan + infra/aws/runtime/retrain.py against moto.

- capture: SageMaker data capture JSON Lines under the endpoint configuration's
  DestinationS3Uri/<endpoint>/AllTraffic/yyyy/mm/dd/hh/ (serverless dev endpoints capture nothing:
  then the location the stack's Model Monitor job reads for batch-transform captures);
- alert: per-feature drift metric alarms of the plan evaluated on the drift report, the composite
  alarm's "CloudWatch Alarm State Change" event as EventBridge delivers it
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html),
  matched against the plan's EventBridge rule pattern before the function is invoked;
- registry: a model package in the stack's model package group with its metrics and, as
  DriftCheckBaselines, the workload's baseline.json.
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from infra.rehearse.base import Adapter, Delivery, LoopSettings, StageFailed, as_json, one, resources
from infra.rehearse.events import matches
from mlops_workload import capture
from mlops_workload.drift import DriftReport
from mlops_workload.package import SAGEMAKER_ENVIRONMENT
from mlops_workload.pipeline import TrainingResult

FUNCTION = "aws:lambda/function:Function"
RULE = "aws:cloudwatch/eventRule:EventRule"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
DATA_QUALITY = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
DRIFT_METRIC_PREFIX = "feature_baseline_drift_"
VARIANT = "AllTraffic"
RETRAIN_HANDLER = "retrain.handler"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal", "AWS_SESSION_TOKEN": "rehearsal"}


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise StageFailed(f"not an s3:// location: {uri}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key.strip("/")


def _steps(steps: list[dict]):
    """Every step of a pipeline definition, depth first through condition branches."""
    for step in steps:
        yield step
        for branch in ("IfSteps", "ElseSteps"):
            yield from _steps(step.get("Arguments", {}).get(branch, []))


@contextmanager
def _environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class AwsAdapter(Adapter):
    cloud = "aws"

    def __init__(self, stack, plan, workdir: Path):
        super().__init__(stack, plan, workdir)
        import boto3
        import moto

        self.region = stack.spec.region
        self._credentials = _environment({**CREDENTIALS, "AWS_DEFAULT_REGION": self.region})
        self._credentials.__enter__()
        self._mock = moto.mock_aws()
        self._mock.start()
        self.s3 = boto3.client("s3", region_name=self.region)
        self.sagemaker = boto3.client("sagemaker", region_name=self.region)
        self.sns = boto3.client("sns", region_name=self.region)
        self.feature_order: list[str] = []
        self._pipeline_ready = False
        self._versions = 0
        self._written: str | None = None

    def close(self) -> None:
        self._mock.stop()
        self._credentials.__exit__(None, None, None)

    # --- settings from the plan ---------------------------------------------------------------

    def settings(self) -> LoopSettings:
        spec = self.stack.spec
        features = list(spec.aws.drift_features) if spec.aws and spec.aws.drift_features else None
        return LoopSettings(
            spec.monitoring.drift_threshold,
            spec.monitoring.retrain_cooldown_hours,
            features,
            self.capture_location(),
            spec.monitoring.retrain_on_drift,
        )

    def capture_location(self) -> str:
        configs = resources(self.plan, ENDPOINT_CONFIG)
        capture_config = (configs[0].inputs.get("dataCaptureConfig") or {}) if configs else {}
        if capture_config.get("enableCapture"):
            endpoint = one(self.plan, ENDPOINT, "SageMaker endpoint").inputs["name"]
            return f"{capture_config['destinationS3Uri'].rstrip('/')}/{endpoint}/{VARIANT}"
        for job in resources(self.plan, DATA_QUALITY):
            batch = (job.inputs.get("dataQualityJobInput") or {}).get("batchTransformInput")
            if batch:
                return batch["dataCapturedDestinationS3Uri"].rstrip("/")
        raise StageFailed(
            "the endpoint captures nothing (no data capture configuration) and no monitoring job "
            "reads batch-transform captures: the drift check has no data"
        )

    def _bucket(self, name: str) -> str:
        try:
            self.s3.head_bucket(Bucket=name)
        except Exception:
            self.s3.create_bucket(
                Bucket=name,
                **(
                    {}
                    if self.region == "us-east-1"
                    else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
                ),
            )
        return name

    # --- registry -----------------------------------------------------------------------------

    def register(self, trained: TrainingResult, when: datetime) -> str:
        self.feature_order = json.loads(trained.baseline_path.read_text())["feature_order"]
        group = self.plan.outputs.get("model_package_group")
        bucket = self.plan.outputs.get("artifacts_bucket")
        if not group or not bucket:
            raise StageFailed("the plan exports no model_package_group / artifacts_bucket")
        self._bucket(bucket)
        self._versions += 1
        prefix = f"models/rehearsal/v{self._versions}"
        uris = {}
        for name, path in (
            ("model.tar.gz", trained.packages["sagemaker"]),
            ("baseline.json", trained.baseline_path),
            ("metrics.json", trained.metrics_path),
        ):
            self.s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=path.read_bytes())
            uris[name] = f"s3://{bucket}/{prefix}/{name}"
        groups = self.sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
        if group not in [g["ModelPackageGroupName"] for g in groups]:
            self.sagemaker.create_model_package_group(ModelPackageGroupName=group)
        image = self._inference_image()
        arn = self.sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Approved",
            InferenceSpecification={
                "Containers": [
                    {"Image": image, "ModelDataUrl": uris["model.tar.gz"], "Environment": dict(SAGEMAKER_ENVIRONMENT)}
                ],
                "SupportedContentTypes": ["text/csv", "application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            ModelMetrics={
                "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": uris["metrics.json"]}}
            },
            DriftCheckBaselines={
                "ModelDataQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": uris["baseline.json"]}}
            },
        )["ModelPackageArn"]
        return arn

    def _inference_image(self) -> str:
        definition = as_json(one(self.plan, PIPELINE, "SageMaker pipeline").inputs["pipelineDefinition"])
        for step in _steps(definition["Steps"]):
            if step["Type"] == "RegisterModel":
                return step["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"]
        raise StageFailed("the pipeline definition has no RegisterModel step")

    # --- capture --------------------------------------------------------------------------------

    def write_capture(self, records, predictions, when) -> str:
        bucket, prefix = _split(self.capture_location())
        self._bucket(bucket)
        lines = [
            capture.sagemaker_line(r, p, self.feature_order, when=when)
            for r, p in zip(records, predictions, strict=True)
        ]
        key = f"{prefix}/{when:%Y/%m/%d/%H}/{when:%M-%S}-{uuid.uuid4()}.jsonl"
        self.s3.put_object(Bucket=bucket, Key=key, Body="\n".join(lines).encode())
        return f"s3://{bucket}/{prefix}/"

    def read_capture(self) -> capture.Capture:
        bucket, prefix = _split(self.capture_location())
        listed = self.s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/").get("Contents", [])
        text = "\n".join(self.s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode() for o in listed)
        return capture.read_sagemaker(text, self.feature_order)

    # --- alert ----------------------------------------------------------------------------------

    def _composite(self):
        return one(self.plan, COMPOSITE_ALARM, "drift composite alarm")

    def _firing_features(self, report: DriftReport) -> list[str]:
        firing = []
        for alarm in resources(self.plan, METRIC_ALARM):
            metric = alarm.inputs.get("metricName", "")
            if not metric.startswith(DRIFT_METRIC_PREFIX):
                continue
            feature = metric.removeprefix(DRIFT_METRIC_PREFIX)
            result = report.features.get(feature)
            if result is None:
                continue
            operator, threshold = alarm.inputs.get("comparisonOperator"), float(alarm.inputs["threshold"])
            if (operator == "GreaterThanThreshold" and result.psi > threshold) or (
                operator == "GreaterThanOrEqualToThreshold" and result.psi >= threshold
            ):
                firing.append(alarm.inputs["name"])
        return firing

    def _event(self, state: str, previous: str, reason: str, when: datetime) -> dict:
        alarm = self._composite()
        stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": alarm.outputs["arn"].split(":")[4],
            "time": when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [alarm.outputs["arn"]],
            "detail": {
                "alarmName": alarm.inputs["alarmName"],
                "state": {"value": state, "reason": reason, "timestamp": stamp},
                "previousState": {"value": previous, "reason": "", "timestamp": stamp},
                "configuration": {
                    "alarmRule": alarm.inputs["alarmRule"],
                    "description": alarm.inputs.get("alarmDescription", ""),
                },
            },
        }

    def alert(self, report, when):
        alarms = [
            a
            for a in resources(self.plan, METRIC_ALARM)
            if a.inputs.get("metricName", "").startswith(DRIFT_METRIC_PREFIX)
        ]
        if not alarms:
            return None
        firing = self._firing_features(report)
        rule = self._composite().inputs["alarmRule"]
        firing = [name for name in firing if f'ALARM("{name}")' in rule]
        if not firing:
            return None
        return self._event("ALARM", "OK", f"ALARM: {', '.join(firing)}", when)

    def resolved(self, when):
        return self._event("OK", "ALARM", "no feature drifted", when)

    # --- retraining -----------------------------------------------------------------------------

    def _function_environment(self) -> dict[str, str]:
        """The retraining function's environment: the function that starts the stack's pipeline."""
        for function in resources(self.plan, FUNCTION):
            variables = (function.inputs.get("environment") or {}).get("variables") or {}
            if function.inputs.get("handler") == RETRAIN_HANDLER:
                return dict(variables)
        raise StageFailed(f"the plan has no retraining function (handler {RETRAIN_HANDLER})")

    def _ready_pipeline(self, env: dict[str, str]) -> dict:
        pipeline = one(self.plan, PIPELINE, "SageMaker pipeline")
        if pipeline.inputs.get("pipelineName") != env.get("PIPELINE_NAME"):
            raise StageFailed(
                f"the function starts {env.get('PIPELINE_NAME')!r} but the stack's pipeline is "
                f"{pipeline.inputs.get('pipelineName')!r}"
            )
        definition = as_json(pipeline.inputs["pipelineDefinition"])
        if not self._pipeline_ready:
            self.sagemaker.create_pipeline(
                PipelineName=pipeline.inputs["pipelineName"],
                PipelineDefinition=json.dumps(definition),
                RoleArn=pipeline.inputs["roleArn"],
            )
            topic = env.get("TOPIC_ARN", "")
            self.sns.create_topic(Name=topic.rsplit(":", 1)[-1])
            self._pipeline_ready = True
        return definition

    def _alarm_rule(self):
        """The EventBridge rule on the drift alarm's state change (the stack also has a scheduled
        re-check rule and others on other events)."""
        rules = [
            r
            for r in resources(self.plan, RULE)
            if r.inputs.get("eventPattern")
            and "CloudWatch Alarm State Change" in as_json(r.inputs["eventPattern"]).get("detail-type", [])
        ]
        if len(rules) != 1:
            raise StageFailed(f"the plan has {len(rules)} EventBridge rules on the drift alarm; expected one")
        return rules[0]

    def deliver(self, payload, now) -> Delivery:
        if payload is None:
            return Delivery(False, "no alert raised")
        pattern = as_json(self._alarm_rule().inputs["eventPattern"])
        if not matches(pattern, payload):
            return Delivery(False, "the EventBridge rule does not match the event, so the function is not invoked")
        from infra.aws.runtime import retrain

        env = self._function_environment()
        definition = self._ready_pipeline(env)
        with _environment(env):
            result = retrain.handler(payload, None, clients=retrain.Clients(sagemaker=self.sagemaker, sns=self.sns))
        if not result["started"]:
            return Delivery(False, result["reason"])
        arn = result["executionArn"]
        declared = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
        passed = {
            p["Name"]: p["Value"]
            for p in self.sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn).get(
                "PipelineParameters", []
            )
        }
        unknown = sorted(set(passed) - set(declared))
        if unknown:
            raise StageFailed(f"the handler passes parameters the pipeline does not declare: {', '.join(unknown)}")
        data = passed.get("InputDataUri", declared.get("InputDataUri"))
        start, end = passed.get("DataWindowStart", ""), passed.get("DataWindowEnd", "")
        if self._written is not None and not self._in_window(self._written, start, end):
            raise StageFailed(
                f"the run's data window {start or '-'} .. {end or '-'} leaves out the new data {self._written}"
            )
        return Delivery(True, f"{result['reason']}; data window {start} .. {end}", arn.rsplit("/", 1)[-1], data)

    @staticmethod
    def _in_window(uri: str, start: str, end: str) -> bool:
        """Whether the training step (runtime/pipeline_step.py) keeps `uri`'s dt= day for this window."""
        from datetime import date

        from infra.aws.runtime.pipeline_step import PARTITION

        match = PARTITION.search(uri)
        if not match:
            return False
        day = date.fromisoformat(match.group(1))
        return (not start or day >= date.fromisoformat(start[:10])) and (not end or day <= date.fromisoformat(end[:10]))

    def write_training_window(self, rows, when) -> str:
        from mlops_workload import data

        bucket = self.plan.outputs.get("raw_bucket")
        if not bucket:
            raise StageFailed("the plan exports no raw_bucket to land the training window in")
        self._bucket(bucket)
        path = data.write_csv(rows, self.workdir / "window.csv")
        # The day partition the pipeline's training step selects by data window (runtime/pipeline_step.py).
        key = f"ingest/dt={when:%Y-%m-%d}/window-{when:%H%M}.csv"
        self.s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        self._written = f"s3://{bucket}/{key}"
        return self._written


ADAPTER = AwsAdapter
