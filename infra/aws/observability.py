"""Observability: endpoint latency / error-rate alarms, drift alarms and a CloudWatch dashboard.

CloudWatch cannot alarm on a metric-name wildcard, so drift is alarmed per feature listed in
`spec.aws.drift_features` (metric `feature_baseline_drift_<feature>`), and one composite alarm
("any feature drifted") is what the retraining rule listens to.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from infra.aws.base import child
from infra.aws.monitor import DRIFT_ROWS_METRIC, SCHEDULE_PERIOD_SECONDS, DriftMetrics
from infra.aws.serving import VARIANT
from infra.context import StackContext

LATENCY_PERIOD_SECONDS = 300


def drift_metric_name(feature: str) -> str:
    return f"feature_baseline_drift_{feature}"


def drift_alarm_names(ctx: StackContext) -> list[str]:
    """Physical names of the per-feature drift alarms (the retraining re-check reads them)."""
    features = list(ctx.spec.aws.drift_features) if ctx.spec.aws else []
    return [ctx.name("aws_generic", f"drift-{f}") for f in features]


def composite_rule(alarm_names: list[str]) -> str:
    return " OR ".join(f'ALARM("{n}")' for n in alarm_names)


def dashboard_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


def dashboard_body(
    region: str,
    endpoint: str | None,
    drift_namespace: str | None,
    drift_dims: dict[str, str],
    features: list[str],
    pipeline: str,
    function: str | None,
) -> dict:
    def widget(title: str, metrics: list, stat: str = "Sum", period: int = 300) -> dict:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": period,
                "view": "timeSeries",
                "metrics": metrics,
            },
        }

    widgets = [
        widget(
            "Pipeline executions",
            [
                ["AWS/Sagemaker/ModelBuildingPipeline", m, "PipelineName", pipeline]
                for m in ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")
            ],
        )
    ]
    if endpoint:
        ep = ["EndpointName", endpoint, "VariantName", VARIANT]
        widgets += [
            widget("Endpoint latency (p90, microseconds)", [["AWS/SageMaker", "ModelLatency", *ep]], stat="p90"),
            widget(
                "Invocations and errors",
                [["AWS/SageMaker", m, *ep] for m in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors")],
            ),
        ]
    if drift_namespace and features:
        dims = [x for k, v in drift_dims.items() for x in (k, v)]
        widgets.append(
            widget(
                "Feature baseline drift",
                [[drift_namespace, drift_metric_name(f), *dims] for f in features],
                stat="Maximum",
                period=3600,
            )
        )
    if function:
        widgets.append(
            widget(
                "Retraining function", [["AWS/Lambda", m, "FunctionName", function] for m in ("Invocations", "Errors")]
            )
        )
    return {"widgets": widgets}


def _metric_alarm(
    parent: pulumi.Resource,
    ctx: StackContext,
    topic_arn: pulumi.Input[str],
    logical: str,
    purpose: str,
    description: str,
    alarm_name: str | None = None,
    treat_missing_data: str = "notBreaching",
    **args,
) -> aws.cloudwatch.MetricAlarm:
    return aws.cloudwatch.MetricAlarm(
        logical,
        name=alarm_name or ctx.name("aws_generic", purpose),
        alarm_description=description,
        comparison_operator=args.pop("comparison_operator", "GreaterThanThreshold"),
        treat_missing_data=treat_missing_data,
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        tags={},
        opts=child(parent),
        **args,
    )


def endpoint_alarm_names(ctx: StackContext) -> list[str]:
    """The alarms that roll a deployment back (the Endpoint's AutoRollbackConfiguration)."""
    return [ctx.name("aws_generic", "endpoint-latency"), ctx.name("aws_generic", "endpoint-5xx-rate")]


class EndpointAlarms(pulumi.ComponentResource):
    """p90 latency and 5XX rate of the endpoint. Created before the endpoint (they need only its
    deterministic name), because the endpoint's blue/green deployment rolls back on them."""

    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        *,
        topic_arn: pulumi.Input[str],
        endpoint_name: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:EndpointAlarms", name, None, opts)
        self._topic = topic_arn
        self._ctx = ctx
        monitoring = ctx.spec.monitoring
        dims = {"EndpointName": endpoint_name, "VariantName": VARIANT}
        self.latency_alarm = self._alarm(
            f"{name}-latency",
            "endpoint-latency",
            f"p90 model latency above {monitoring.latency_threshold_ms} ms",
            namespace="AWS/SageMaker",
            metric_name="ModelLatency",
            dimensions=dims,
            extended_statistic="p90",
            period=LATENCY_PERIOD_SECONDS,
            evaluation_periods=3,
            datapoints_to_alarm=2,
            threshold=monitoring.latency_threshold_ms * 1000,
        )  # ModelLatency is in microseconds
        self.error_alarm = self._alarm(
            f"{name}-errors",
            "endpoint-5xx-rate",
            f"5XX error rate above {monitoring.error_rate_threshold_percent}% of invocations",
            evaluation_periods=3,
            datapoints_to_alarm=2,
            threshold=monitoring.error_rate_threshold_percent,
            metric_queries=[
                {
                    "id": "errors",
                    "return_data": False,
                    "metric": {
                        "namespace": "AWS/SageMaker",
                        "metric_name": "Invocation5XXErrors",
                        "dimensions": dims,
                        "stat": "Sum",
                        "period": LATENCY_PERIOD_SECONDS,
                    },
                },
                {
                    "id": "invocations",
                    "return_data": False,
                    "metric": {
                        "namespace": "AWS/SageMaker",
                        "metric_name": "Invocations",
                        "dimensions": dims,
                        "stat": "Sum",
                        "period": LATENCY_PERIOD_SECONDS,
                    },
                },
                {
                    "id": "error_rate",
                    "label": "5XX error rate (%)",
                    "return_data": True,
                    "expression": "IF(invocations > 0, 100 * errors / invocations, 0)",
                },
            ],
        )
        self.alarms = [self.latency_alarm, self.error_alarm]
        self.register_outputs({"alarm_names": [a.name for a in self.alarms]})

    def _alarm(self, logical: str, purpose: str, description: str, **args) -> aws.cloudwatch.MetricAlarm:
        return _metric_alarm(self, self._ctx, self._topic, logical, purpose, description, **args)


class Observability(pulumi.ComponentResource):
    drift_alarm_arn: pulumi.Output[str] | None
    dashboard_url: str

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        *,
        topic_arn: pulumi.Input[str],
        endpoint_name: pulumi.Input[str] | None,
        drift: DriftMetrics | None,
        pipeline_name: str,
        function_name: str | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:aws:Observability", name, None, opts)
        self._topic = topic_arn
        self._ctx = ctx
        monitoring = ctx.spec.monitoring
        features = list(ctx.spec.aws.drift_features) if ctx.spec.aws else []
        self.drift_alarm_arn = None
        if drift is not None and features:
            names = drift_alarm_names(ctx)
            alarms = [
                self._alarm(
                    f"{name}-drift-{feature}",
                    f"drift-{feature}",
                    f"baseline drift of feature {feature} above {monitoring.drift_threshold}",
                    namespace=drift.namespace,
                    metric_name=drift_metric_name(feature),
                    dimensions=drift.dimensions,
                    statistic="Maximum",
                    period=SCHEDULE_PERIOD_SECONDS[monitoring.schedule],
                    evaluation_periods=1,
                    threshold=monitoring.drift_threshold,
                    alarm_name=alarm_name,
                )
                for feature, alarm_name in zip(features, names, strict=True)
            ]
            self.drift_alarm = aws.cloudwatch.CompositeAlarm(
                f"{name}-drift",
                alarm_name=ctx.name("aws_generic", "drift"),
                alarm_description="Any monitored feature drifted from the training baseline",
                alarm_rule=composite_rule(names),
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
                tags={},
                opts=child(self, depends_on=alarms),
            )
            self.drift_alarm_arn = self.drift_alarm.arn
        elif drift is not None:
            pulumi.log.warn(
                "no spec.aws.drift_features: drift metrics are published but no drift alarm "
                "or drift-triggered retraining is set up",
                self,
            )
        if drift is not None:
            self._stale_drift_alarm(name, ctx, drift, features)
        # A failed training run (quality gate, data, quota) must not go unnoticed.
        self._alarm(
            f"{name}-pipeline-failed",
            "pipeline-failed",
            "A training pipeline run failed",
            namespace="AWS/Sagemaker/ModelBuildingPipeline",
            metric_name="ExecutionFailed",
            dimensions={"PipelineName": pipeline_name},
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=0,
        )
        dashboard_name = ctx.name("aws_generic", "mlops")
        body = pulumi.Output.all(endpoint=endpoint_name, dims=drift.dimensions if drift else {}).apply(
            lambda v: json.dumps(
                dashboard_body(
                    ctx.spec.region,
                    v["endpoint"],
                    drift.namespace if drift else None,
                    v["dims"],
                    features,
                    pipeline_name,
                    function_name,
                )
            )
        )
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=dashboard_name, dashboard_body=body, opts=child(self)
        )
        self.dashboard_url = dashboard_url(ctx.spec.region, dashboard_name)
        self.register_outputs({"dashboard_url": self.dashboard_url, "drift_alarm_arn": self.drift_alarm_arn})

    def _alarm(self, logical: str, purpose: str, description: str, **args) -> aws.cloudwatch.MetricAlarm:
        return _metric_alarm(self, self._ctx, self._topic, logical, purpose, description, **args)

    def _stale_drift_alarm(self, name: str, ctx: StackContext, drift: DriftMetrics, features: list[str]) -> None:
        """Missing drift data is breaching: a check that never runs, fails, or publishes nothing would
        otherwise look healthy forever (the per-feature alarms treat missing data as not breaching,
        so that an idle period never starts a retraining)."""
        metric = DRIFT_ROWS_METRIC if drift.heartbeat else (drift_metric_name(features[0]) if features else None)
        if metric is None:
            return
        day = 86400
        period = min(SCHEDULE_PERIOD_SECONDS[ctx.spec.monitoring.schedule], day)
        # Two missed runs in a row (weekly checks: eight days without data; alarms look back 7 days at most).
        periods = {"hourly": 2, "daily": 2, "weekly": 7}[ctx.spec.monitoring.schedule]
        self._alarm(
            f"{name}-stale-drift-data",
            "stale-drift-data",
            "No drift data: the drift check did not run, failed, or found no baseline",
            namespace=drift.namespace,
            metric_name=metric,
            dimensions=drift.dimensions,
            statistic="SampleCount",
            period=period,
            evaluation_periods=periods,
            threshold=1,
            comparison_operator="LessThanThreshold",
            treat_missing_data="breaching",
        )
