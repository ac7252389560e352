"""Monitoring: notification channels, alert policies (endpoint latency and errors, GKE node
pressure, drift, retraining function errors), the log-based drift metric, and the dashboard.

The drift alert and the function-error alert are log-match conditions on the function's own
entries, not thresholds on the log-based metric: an alert policy (or dashboard chart) on a metric
created in the same update is refused with 404 "Cannot find metric(s) ... it could take up to 10
minutes to become available" (hashicorp/terraform-provider-google#11102, still open; the provider
does not retry it and pulumi-gcp has no sleep resource). A log-match condition names no metric, so
nothing has to wait; the function compares the score with the spec's threshold and logs
`drifted`. The metric stays for charting the score in Metrics Explorer once it has data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from infra.context import StackContext
from infra.gcp.common import child, gcp_settings
from infra.gcp.services import Services

ENDPOINT = 'resource.type = "aiplatform.googleapis.com/Endpoint"'
NODE = 'resource.type = "k8s_node"'
NODE_PRESSURE = {
    "cpu": "kubernetes.io/node/cpu/allocatable_utilization",
    "memory": "kubernetes.io/node/memory/allocatable_utilization",
}
NODE_PRESSURE_RATIO = 0.9
LOG_ALERT_PERIOD = "300s"  # notification rate limit of log-match alerts (the API's minimum)


def drift_metric_filter(function_name: str) -> str:
    """The drift check's structured log entries (Cloud Functions 2nd gen log as Cloud Run)."""
    return (
        'resource.type = "cloud_run_revision" AND '
        f'resource.labels.service_name = "{function_name}" AND jsonPayload.event = "drift_check"'
    )


def drift_alert_filter(function_name: str) -> str:
    """Drift checks whose score crossed the spec's threshold (the function decides and logs it)."""
    return f"{drift_metric_filter(function_name)} AND jsonPayload.drifted = true"


def function_error_filter(function_name: str) -> str:
    """Errors of the retraining function: crashes, failed pipeline submissions, bad messages."""
    return (
        'resource.type = "cloud_run_revision" AND '
        f'resource.labels.service_name = "{function_name}" AND severity >= ERROR'
    )


def log_match(display_name: str, filter_: str) -> gcp.monitoring.AlertPolicyConditionArgsDict:
    return {"display_name": display_name, "condition_matched_log": {"filter": filter_}}


def threshold(
    display_name: str,
    filter_: pulumi.Input[str],
    value: float,
    aligner: str,
    *,
    duration: str = "300s",
    reducer: str | None = None,
    denominator: pulumi.Input[str] | None = None,
) -> gcp.monitoring.AlertPolicyConditionArgsDict:
    aggregation: gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgsDict = {
        "alignment_period": "300s",
        "per_series_aligner": aligner,
    }
    if reducer:
        aggregation["cross_series_reducer"] = reducer
    condition: gcp.monitoring.AlertPolicyConditionConditionThresholdArgsDict = {
        "filter": filter_,
        "comparison": "COMPARISON_GT",
        "threshold_value": value,
        "duration": duration,
        "aggregations": [aggregation],
        "trigger": {"count": 1},
    }
    if denominator is not None:
        condition["denominator_filter"] = denominator
        condition["denominator_aggregations"] = [aggregation.copy()]
    return {"display_name": display_name, "condition_threshold": condition}


def dashboard_json(title: str, widgets: list[tuple[str, str, str]], logs: Sequence[tuple[str, str]] = ()) -> str:
    """A mosaic dashboard: one logs panel per (title, log filter), then one xy chart per (title,
    filter, aligner) of a built-in metric (charts of a metric created in the same update are
    refused like alerts are)."""
    panels = [{"title": t, "logsPanel": {"filter": f}} for t, f in logs]
    panels += [
        {
            "title": t,
            "xyChart": {
                "dataSets": [
                    {
                        "timeSeriesQuery": {
                            "timeSeriesFilter": {
                                "filter": f,
                                "aggregation": {"alignmentPeriod": "300s", "perSeriesAligner": a},
                            }
                        }
                    }
                ]
            },
        }
        for t, f, a in widgets
    ]
    tiles = [
        {"xPos": (i % 2) * 6, "yPos": (i // 2) * 4, "width": 6, "height": 4, "widget": w} for i, w in enumerate(panels)
    ]
    return json.dumps({"displayName": title, "mosaicLayout": {"columns": 12, "tiles": tiles}}, sort_keys=True)


class Monitoring(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        ctx: StackContext,
        services: Services,
        *,
        topic: gcp.pubsub.Topic,
        function_name: str,
        drift_policy: str,
        endpoint_id: pulumi.Input[str] | None,
        cluster_name: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:gcp:Monitoring", name, None, opts)
        spec, project = ctx.spec, gcp_settings(ctx).project_id
        self._project = project
        apis = services.apis("monitoring", "logging")
        # A channel's `labels` is its configuration; the stack transformation leaves channels alone,
        # so their resource labels (user_labels) are set here.
        self.email_channels = [
            gcp.monitoring.NotificationChannel(
                f"{name}-email-{i}",
                project=project,
                type="email",
                display_name=f"{spec.team} alerts: {email}",
                labels={"email_address": email},
                user_labels=dict(ctx.tags),
                opts=child(self, apis),
            )
            for i, email in enumerate(spec.alert_emails)
        ]
        self.pubsub_channel = gcp.monitoring.NotificationChannel(
            f"{name}-retrain",
            project=project,
            type="pubsub",
            display_name=f"{spec.team} drift retraining",
            labels={"topic": topic.id},
            user_labels=dict(ctx.tags),
            opts=child(self, apis),
        )
        # Cloud Monitoring publishes as its notification service agent, which exists once generated
        # (`gcloud beta services identity create --service=monitoring.googleapis.com`, Pub/Sub
        # channel docs): it may publish to this topic only.
        notifier = gcp.projects.ServiceIdentity(
            f"{name}-notifier-agent",
            project=project,
            service="monitoring.googleapis.com",
            opts=child(self, services.apis("monitoring")),
        )
        gcp.pubsub.TopicIAMMember(
            f"{name}-notifier-publish",
            project=project,
            topic=topic.name,
            role="roles/pubsub.publisher",
            member=notifier.member,
            opts=child(self, [self.pubsub_channel]),
        )
        emails = [c.id for c in self.email_channels]
        m = spec.monitoring
        self.drift_metric = gcp.logging.Metric(
            f"{name}-drift-metric",
            name=ctx.name("gcp_generic", "drift-score"),
            project=project,
            description="Drift score (max PSI over features) of each scheduled drift check",
            filter=drift_metric_filter(function_name),
            value_extractor="EXTRACT(jsonPayload.drift_score)",
            metric_descriptor={
                "metric_kind": "DELTA",
                "value_type": "DISTRIBUTION",
                "unit": "1",
                "display_name": "Drift score",
            },
            bucket_options={"explicit_buckets": {"bounds": [0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0]}},
            opts=child(self, apis),
        )
        self.policies = [
            self._policy(
                f"{name}-drift",
                drift_policy,
                [log_match(f"drift score above {m.drift_threshold}", drift_alert_filter(function_name))],
                emails + [self.pubsub_channel.id],
                "WARNING",
                "Feature drift crossed the threshold; the retraining function starts the pipeline.",
                log_based=True,
            ),
            self._policy(
                f"{name}-function-errors",
                f"{spec.team} {spec.environment}: retraining function errors",
                [log_match("retraining function logged an error", function_error_filter(function_name))],
                emails,
                "ERROR",
                "The drift check or a pipeline submission failed; Pub/Sub redelivers the message. "
                "Read the function's logs.",
                log_based=True,
            ),
        ]
        widgets: list[tuple[str, pulumi.Input[str], str]] = []
        if endpoint_id is not None:
            self.policies += self._endpoint_policies(name, ctx, endpoint_id, emails)
            widgets += [
                (
                    "Prediction latency p99 (ms)",
                    self._endpoint_filter("prediction/online/prediction_latencies", endpoint_id),
                    "ALIGN_PERCENTILE_99",
                )
            ]
        if cluster_name is not None:
            for kind, metric in NODE_PRESSURE.items():
                node_filter = pulumi.Output.from_input(cluster_name).apply(
                    lambda c, mt=metric: f'metric.type = "{mt}" AND {NODE} AND resource.labels.cluster_name = "{c}"'
                )
                self.policies.append(
                    self._policy(
                        f"{name}-node-{kind}",
                        f"{spec.team} {spec.environment}: GKE node {kind} pressure",
                        [
                            threshold(
                                f"node {kind} above {NODE_PRESSURE_RATIO:.0%}",
                                node_filter,
                                NODE_PRESSURE_RATIO,
                                "ALIGN_MEAN",
                                duration="900s",
                            )
                        ],
                        emails,
                        "WARNING",
                        f"GKE nodes have used over {NODE_PRESSURE_RATIO:.0%} of allocatable {kind} for 15 minutes.",
                    )
                )
                widgets.append((f"Node {kind} utilization", node_filter, "ALIGN_MEAN"))
        self.dashboard = gcp.monitoring.Dashboard(
            f"{name}-dashboard",
            project=project,
            opts=child(self, apis),
            dashboard_json=pulumi.Output.all(*[w[1] for w in widgets]).apply(
                lambda filters: dashboard_json(
                    f"{spec.team} {spec.environment} ML platform",
                    [(w[0], f, w[2]) for w, f in zip(widgets, filters, strict=True)],
                    logs=[("Drift checks", drift_metric_filter(function_name))],
                )
            ),
        )
        self.dashboard_url = self.dashboard.id.apply(
            lambda i: (
                f"https://console.cloud.google.com/monitoring/dashboards/builder/{i.split('/')[-1]}?project={project}"
            )
        )
        self.channel_ids = emails
        self.register_outputs({"dashboard_url": self.dashboard_url})

    @staticmethod
    def _endpoint_filter(metric: str, endpoint_id: pulumi.Input[str]) -> pulumi.Output[str]:
        return pulumi.Output.from_input(endpoint_id).apply(
            lambda e: (
                f'metric.type = "aiplatform.googleapis.com/{metric}" AND {ENDPOINT} '
                f'AND resource.labels.endpoint_id = "{e}"'
            )
        )

    def _endpoint_policies(self, name: str, ctx: StackContext, endpoint_id, emails) -> list:
        m, label = ctx.spec.monitoring, f"{ctx.spec.team} {ctx.spec.environment}"
        latency = threshold(
            f"p99 latency above {m.latency_threshold_ms} ms",
            self._endpoint_filter("prediction/online/prediction_latencies", endpoint_id),
            m.latency_threshold_ms,
            "ALIGN_PERCENTILE_99",
        )
        errors = threshold(
            f"error rate above {m.error_rate_threshold_percent}%",
            self._endpoint_filter("prediction/online/error_count", endpoint_id),
            m.error_rate_threshold_percent / 100,
            "ALIGN_RATE",
            reducer="REDUCE_SUM",
            denominator=self._endpoint_filter("prediction/online/prediction_count", endpoint_id),
        )
        return [
            self._policy(
                f"{name}-latency",
                f"{label}: endpoint latency",
                [latency],
                emails,
                "ERROR",
                "Online prediction p99 latency is above the spec's latency_threshold_ms.",
            ),
            self._policy(
                f"{name}-errors",
                f"{label}: endpoint errors",
                [errors],
                emails,
                "ERROR",
                "The share of failed online predictions is above error_rate_threshold_percent.",
            ),
        ]

    def _policy(
        self,
        resource_name: str,
        display_name: str,
        conditions: list[gcp.monitoring.AlertPolicyConditionArgsDict],
        channels: list,
        severity: str,
        doc: str,
        log_based: bool = False,
    ) -> gcp.monitoring.AlertPolicy:
        strategy: gcp.monitoring.AlertPolicyAlertStrategyArgsDict = {"auto_close": "1800s"}
        if log_based:  # required for LogMatch conditions; at most one notification per period
            strategy["notification_rate_limit"] = {"period": LOG_ALERT_PERIOD}
        return gcp.monitoring.AlertPolicy(
            resource_name,
            project=self._project,
            display_name=display_name,
            combiner="OR",
            conditions=conditions,
            notification_channels=channels,
            severity=severity,
            documentation={"content": doc, "mime_type": "text/markdown"},
            alert_strategy=strategy,
            opts=child(self),
        )
