"""Monitoring: the action group (e-mail), metric alerts on endpoint latency and errors and on AKS
node pressure, a log alert on App Insights failures, and the Azure ML model monitor (a Schedule
running a data drift signal over the deployment's collected data) whose breached runs reach the
retraining function through Event Grid."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, eventgrid, managedidentity, monitor
from pulumi_azure_native import machinelearningservices as ml

from infra.azure import roles
from infra.azure.base import Client, child
from infra.azure.definitions import FAILURE_RATE_QUERY, drift_window, recurrence, short_name
from infra.azure.serving import collected_data_asset
from infra.context import StackContext

ENDPOINT_METRICS = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
AKS_METRICS = "Microsoft.ContainerService/managedClusters"
NODE_PRESSURE_PERCENT = 85.0
DRIFT_SIGNAL = "data-drift"
RUN_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
THRESHOLD_BREACHED = "has failed due to one or more features violating metric thresholds"


def drift_rule_name(ctx: StackContext) -> str:
    """The Event Grid subscription that delivers breached model-monitor runs to the retraining
    function."""
    return ctx.name("azure_generic", "drift-events")


@dataclass(frozen=True)
class MetricRule:
    key: str
    description: str
    namespace: str
    metric: str
    operator: str
    threshold: float
    aggregation: str
    severity: int
    dimensions: tuple[tuple[str, str], ...] = ()


def endpoint_rules(ctx: StackContext) -> list[MetricRule]:
    m = ctx.spec.monitoring
    return [
        MetricRule(
            "endpoint-latency",
            f"P95 request latency above {m.latency_threshold_ms} ms",
            ENDPOINT_METRICS,
            "RequestLatency_P95",
            "GreaterThan",
            float(m.latency_threshold_ms),
            "Average",
            2,
        ),
        MetricRule(
            "endpoint-errors",
            "Server errors (5xx) returned by the endpoint",
            ENDPOINT_METRICS,
            "RequestsPerMinute",
            "GreaterThan",
            0.0,
            "Total",
            1,
            (("statusCodeClass", "5xx"),),
        ),
    ]


def cluster_rules() -> list[MetricRule]:
    return [
        MetricRule(
            "aks-node-cpu",
            f"Node CPU above {NODE_PRESSURE_PERCENT:g} %",
            AKS_METRICS,
            "node_cpu_usage_percentage",
            "GreaterThan",
            NODE_PRESSURE_PERCENT,
            "Average",
            2,
        ),
        MetricRule(
            "aks-node-memory",
            f"Node memory working set above {NODE_PRESSURE_PERCENT:g} %",
            AKS_METRICS,
            "node_memory_working_set_percentage",
            "GreaterThan",
            NODE_PRESSURE_PERCENT,
            "Average",
            2,
        ),
    ]


def drift_signal(threshold: float, production_uri: str, reference_uri: pulumi.Input[str], window: str):
    """The data drift signal: Jensen-Shannon distance per numerical feature and Pearson's
    chi-squared per categorical feature against the reference data, both at `threshold`."""
    return ml.DataDriftMonitoringSignalArgs(
        signal_type="DataDrift",
        features=ml.AllFeaturesArgs(filter_type="AllFeatures"),
        metric_thresholds=[
            ml.NumericalDataDriftMetricThresholdArgs(
                data_type="Numerical",
                metric="JensenShannonDistance",
                threshold=ml.MonitoringThresholdArgs(value=threshold),
            ),
            ml.CategoricalDataDriftMetricThresholdArgs(
                data_type="Categorical",
                metric="PearsonsChiSquaredTest",
                threshold=ml.MonitoringThresholdArgs(value=threshold),
            ),
        ],
        production_data=ml.RollingInputDataArgs(
            input_data_type="Rolling",
            job_input_type="uri_folder",
            uri=production_uri,
            data_context="model_inputs",
            window_size=window,
            window_offset="P0D",
        ),
        reference_data=ml.FixedInputDataArgs(
            input_data_type="Fixed", job_input_type="mltable", uri=reference_uri, data_context="training"
        ),
        notification_types=["AmlNotification"],
    )


class Monitoring(pulumi.ComponentResource):
    """`action_group_id`, `alert_ids`, `drift_schedule_name` (None without serving)."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        resource_group_name: pulumi.Input[str],
        *,
        app_insights_id: pulumi.Input[str],
        client: Client,
        cluster_id: pulumi.Input[str] | None = None,
        retrain_function: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None,
        retrain_event_function: pulumi.Input[str] | None = None,
        workspace_name: pulumi.Input[str] | None = None,
        workspace_id: pulumi.Input[str] | None = None,
        lake_account_id: pulumi.Input[str] | None = None,
        endpoint=None,
        reference_data_id: pulumi.Input[str] | None = None,
        code_account_id: pulumi.Input[str] | None = None,
        event_function_after: pulumi.Resource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:Monitoring", name, None, opts)
        spec = ctx.spec
        receivers: dict = {
            "email_receivers": [
                {"name": f"email-{i}", "email_address": e, "use_common_alert_schema": True}
                for i, e in enumerate(spec.alert_emails)
            ],
        }
        if retrain_function is not None:
            # Operational alerts reach the function too; it acknowledges them and retrains only on
            # drift (the model monitor's runs, delivered by Event Grid below).
            app_id, trigger_url = retrain_function
            receivers["azure_function_receivers"] = [
                {
                    "name": "retrain",
                    "function_app_resource_id": app_id,
                    "function_name": "alert",
                    "http_trigger_url": trigger_url,
                    "use_common_alert_schema": True,
                }
            ]
        self.action_group = monitor.ActionGroup(
            f"{name}-actions",
            action_group_name=ctx.name("azure_generic", "alerts"),
            resource_group_name=resource_group_name,
            location="global",
            group_short_name=short_name(f"{spec.team}{spec.environment}"),
            enabled=True,
            **receivers,
            opts=child(self),
        )
        self.action_group_id = self.action_group.id
        self.alerts: dict[str, pulumi.CustomResource] = {}
        if endpoint is not None:
            for rule in endpoint_rules(ctx):
                self._metric_alert(name, ctx, rule, endpoint.endpoint_id, resource_group_name)
        if cluster_id is not None:
            for rule in cluster_rules():
                self._metric_alert(name, ctx, rule, cluster_id, resource_group_name)
        self.alerts["insights-failures"] = monitor.ScheduledQueryRule(
            f"{name}-insights-failures",
            rule_name=ctx.name("azure_generic", "insights-failures"),
            resource_group_name=resource_group_name,
            location=spec.region,
            kind="LogAlert",
            description=f"Failed request rate above {spec.monitoring.error_rate_threshold_percent:g} %",
            severity=1,
            enabled=True,
            scopes=[app_insights_id],
            evaluation_frequency="PT5M",
            window_size="PT15M",
            criteria={
                "all_of": [
                    {
                        "query": FAILURE_RATE_QUERY,
                        "time_aggregation": "Maximum",
                        "metric_measure_column": "failure_percent",
                        "operator": "GreaterThan",
                        "threshold": spec.monitoring.error_rate_threshold_percent,
                        "failing_periods": {"number_of_evaluation_periods": 1, "min_failing_periods_to_alert": 1},
                    }
                ]
            },
            actions={"action_groups": [self.action_group.id]},
            auto_mitigate=True,
            opts=child(self),
        )
        self.drift_schedule_name = None
        if endpoint is not None:
            identity, grants = self._monitor_identity(
                name, ctx, resource_group_name, client, lake_account_id, code_account_id
            )
            self._drift_schedule(
                name, ctx, resource_group_name, workspace_name, endpoint, reference_data_id, identity, grants
            )
            if retrain_event_function is not None:
                # The subscription validates its destination: the function must already be deployed.
                self._drift_events(
                    name,
                    ctx,
                    resource_group_name,
                    workspace_id,
                    retrain_event_function,
                    [event_function_after] if event_function_after else [],
                )
        self.register_outputs({"action_group_id": self.action_group_id})

    def _metric_alert(self, name, ctx, rule: MetricRule, scope, resource_group_name) -> None:
        self.alerts[rule.key] = monitor.MetricAlert(
            f"{name}-{rule.key}",
            rule_name=ctx.name("azure_generic", rule.key),
            resource_group_name=resource_group_name,
            location="global",
            description=rule.description,
            severity=rule.severity,
            enabled=True,
            scopes=[scope],
            evaluation_frequency="PT1M",
            window_size="PT5M",
            target_resource_type=rule.namespace,
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[
                    monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name=rule.key,
                        metric_namespace=rule.namespace,
                        metric_name=rule.metric,
                        operator=rule.operator,
                        threshold=rule.threshold,
                        time_aggregation=rule.aggregation,
                        dimensions=[
                            monitor.MetricDimensionArgs(name=n, operator="Include", values=[v])
                            for n, v in rule.dimensions
                        ]
                        or None,
                        # Endpoint metrics appear only after the first request is served.
                        skip_metric_validation=True,
                    )
                ],
            ),
            actions=[{"action_group_id": self.action_group.id}],
            auto_mitigate=True,
            opts=child(self),
        )

    def _monitor_identity(self, name, ctx, resource_group_name, client: Client, lake_account_id, code_account_id):
        """The monitor's Spark job runs as this identity (an AmlToken job would run as whoever
        deployed, with no data-plane role on a lake without shared keys), granted before the
        schedule exists."""
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-monitor-identity",
            resource_name_=ctx.name("azure_generic", "model-monitor"),
            resource_group_name=resource_group_name,
            location=ctx.spec.region,
            opts=child(self),
        )
        grant = authorization.RoleAssignment(
            f"{name}-monitor-lake",
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=client.subscription_id.apply(
                lambda sub: roles.definition_id(sub, roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
            ),
            scope=lake_account_id,
            description="Model monitor reads collected and reference data and writes its results",
            opts=child(self),
        )
        table = authorization.RoleAssignment(
            f"{name}-monitor-code",
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=client.subscription_id.apply(
                lambda sub: roles.definition_id(sub, roles.STORAGE_BLOB_DATA_READER)
            ),
            scope=code_account_id,
            description="Model monitor reads the reference data's MLTable file",
            opts=child(self),
        )
        return identity, [grant, table]

    def _drift_schedule(
        self, name, ctx, resource_group_name, workspace_name, endpoint, reference_uri, identity, grants
    ) -> None:
        spec = ctx.spec
        r = recurrence(spec.monitoring.schedule)
        production_uri = endpoint.endpoint_name.apply(lambda e: collected_data_asset(e, "model_inputs"))
        schedule = ml.Schedule(
            f"{name}-drift",
            name="model-monitor",
            workspace_name=workspace_name,
            resource_group_name=resource_group_name,
            properties=ml.SchedulePropertiesArgs(
                display_name=f"{spec.serving.model_name} data drift",
                description=f"Data drift over collected inputs, threshold {spec.monitoring.drift_threshold}",
                is_enabled=True,
                trigger=ml.RecurrenceTriggerArgs(
                    trigger_type="Recurrence",
                    frequency=r.frequency,
                    interval=r.interval,
                    time_zone="UTC",
                    # Azure ML takes an explicit schedule only for daily and weekly recurrences.
                    schedule=None
                    if r.frequency == "Hour"
                    else ml.RecurrenceScheduleArgs(
                        hours=list(r.hours), minutes=list(r.minutes), week_days=list(r.week_days) or None
                    ),
                ),
                action=ml.CreateMonitorActionArgs(
                    action_type="CreateMonitor",
                    monitor_definition=ml.MonitorDefinitionArgs(
                        compute_configuration=ml.MonitorServerlessSparkComputeArgs(
                            compute_type="ServerlessSpark",
                            instance_type="standard_e4s_v3",
                            runtime_version="3.4",
                            compute_identity=ml.ManagedComputeIdentityArgs(
                                compute_identity_type="ManagedIdentity",
                                identity=ml.ManagedServiceIdentityArgs(
                                    type="UserAssigned", user_assigned_identities=[identity.id]
                                ),
                            ),
                        ),
                        monitoring_target=ml.MonitoringTargetArgs(
                            task_type="Classification", deployment_id=endpoint.deployment_id
                        ),
                        signals={
                            DRIFT_SIGNAL: drift_signal(
                                spec.monitoring.drift_threshold,
                                production_uri,
                                reference_uri,
                                drift_window(spec.monitoring.schedule),
                            )
                        },
                        alert_notification_settings=ml.MonitorNotificationSettingsArgs(
                            email_notification_settings=ml.MonitorEmailNotificationSettingsArgs(
                                emails=list(spec.alert_emails)
                            )
                        ),
                    ),
                ),
            ),
            opts=child(self, depends_on=grants),
        )
        self.drift_schedule_name = schedule.name

    def _drift_events(self, name, ctx, resource_group_name, workspace_id, function_id, after) -> None:
        """Model-monitor runs that breach a threshold -> Event Grid -> the retraining function's
        Event Grid trigger. (Event Grid's Azure Monitor alert destination accepts Key Vault events
        only: learn.microsoft.com/azure/event-grid/handler-azure-monitor-alerts.)"""
        topic = eventgrid.SystemTopic(
            f"{name}-workspace-events",
            system_topic_name=ctx.name("azure_generic", "workspace-events"),
            resource_group_name=resource_group_name,
            location=ctx.spec.region,
            source=workspace_id,
            topic_type="Microsoft.MachineLearningServices.Workspaces",
            opts=child(self),
        )
        eventgrid.SystemTopicEventSubscription(
            f"{name}-drift-events",
            event_subscription_name=drift_rule_name(ctx),
            system_topic_name=topic.name,
            resource_group_name=resource_group_name,
            event_delivery_schema="EventGridSchema",
            destination=eventgrid.AzureFunctionEventSubscriptionDestinationArgs(
                endpoint_type="AzureFunction", resource_id=function_id, max_events_per_batch=1
            ),
            filter=eventgrid.EventSubscriptionFilterArgs(
                included_event_types=[RUN_STATUS_CHANGED],
                advanced_filters=[
                    eventgrid.StringContainsAdvancedFilterArgs(
                        operator_type="StringContains",
                        key="data.runTags.azureml_modelmonitor_threshold_breached",
                        values=[THRESHOLD_BREACHED],
                    )
                ],
            ),
            opts=child(self, depends_on=after),
        )
