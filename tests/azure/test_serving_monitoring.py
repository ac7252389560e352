"""Serving on the AKS compute, the drift monitor, alerts, the action group and the budget."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi_azure_native")

from infra.azure.monitoring import drift_rule_name  # noqa: E402
from tests.azure.helpers import STACKS, by_name, of, one  # noqa: E402


@pytest.mark.parametrize("kind", ["no-serving", "day-0"])
def test_no_serving_without_a_model_version(plan_variant, kind):
    plan = plan_variant("azure-dev", kind)
    assert of(plan, "machinelearningservices:OnlineEndpoint") == []
    assert of(plan, "machinelearningservices:OnlineDeployment") == []
    assert of(plan, "machinelearningservices:Schedule") == []


def test_aml_extension_installed_and_cluster_attached_as_kubernetes_compute(plan_for):
    plan = plan_for("azure-staging")
    ext = one(plan, "kubernetesconfiguration:Extension")
    cluster = one(plan, "containerservice:ManagedCluster")
    assert ext.inputs["extensionType"] == "Microsoft.AzureML.Kubernetes", ext.urn
    assert ext.inputs["clusterName"] == cluster.outputs["name"], ext.urn
    assert ext.inputs["configurationSettings"]["allowInsecureConnections"] == "False", ext.urn
    compute = one(plan, "machinelearningservices:Compute", "kubernetes-compute")
    assert compute.inputs["properties"]["computeType"] == "Kubernetes", compute.urn
    assert compute.inputs["properties"]["resourceId"] == cluster.outputs["id"], compute.urn
    assert ext.urn in compute.dependencies, compute.urn


def test_endpoint_targets_the_kubernetes_compute_with_token_auth(plan_for):
    plan = plan_for("azure-prod")
    ep = one(plan, "machinelearningservices:OnlineEndpoint")
    compute = one(plan, "machinelearningservices:Compute", "kubernetes-compute")
    assert ep.inputs["properties"]["compute"] == compute.outputs["id"], ep.urn
    assert ep.inputs["properties"]["authMode"] in ("AMLToken", "Key"), ep.urn


@pytest.mark.parametrize("stack,min_r,max_r", [("azure-staging", 1, 2), ("azure-prod", 2, 5)])
def test_deployment_scaling_follows_replicas(plan_for, stack, min_r, max_r):
    d = one(plan_for(stack), "machinelearningservices:OnlineDeployment")
    props = d.inputs["properties"]
    assert props["endpointComputeType"] == "Kubernetes", d.urn
    assert props["scaleSettings"]["scaleType"] == "TargetUtilization", d.urn
    assert (props["scaleSettings"]["minInstances"], props["scaleSettings"]["maxInstances"]) == (min_r, max_r), d.urn
    assert d.inputs["sku"]["capacity"] == min_r, d.urn


def test_deployment_collects_data_and_reports_to_app_insights(plan_for):
    d = one(plan_for("azure-prod"), "machinelearningservices:OnlineDeployment")
    props = d.inputs["properties"]
    assert props["appInsightsEnabled"] is True, d.urn
    collections = props["dataCollector"]["collections"]
    assert set(collections) == {"model_inputs", "model_outputs"}, d.urn
    assert collections["model_inputs"]["samplingRate"] == 0.25, d.urn  # prod data_capture_percent 25
    assert props["requestSettings"]["requestTimeout"], d.urn


def test_drift_monitor_uses_threshold_schedule_and_emails(plan_for):
    plan = plan_for("azure-prod")
    s = one(plan, "machinelearningservices:Schedule")
    props = s.inputs["properties"]
    assert props["trigger"]["frequency"] == "Hour", s.urn  # prod schedule: hourly
    action = props["action"]
    assert action["actionType"] == "CreateMonitor", s.urn
    signal = action["monitorDefinition"]["signals"]["data-drift"]
    assert signal["signalType"] == "DataDrift", s.urn
    assert {t["threshold"]["value"] for t in signal["metricThresholds"]} == {0.2}, s.urn
    deployment = one(plan, "machinelearningservices:OnlineDeployment")
    assert action["monitorDefinition"]["monitoringTarget"]["deploymentId"] == deployment.outputs["id"], s.urn
    assert signal["productionData"]["uri"].endswith("-blue-model_inputs:1"), s.urn
    emails = action["monitorDefinition"]["alertNotificationSettings"]["emailNotificationSettings"]["emails"]
    assert emails == ["churn-ml@example.com", "sre@example.com"], s.urn


def test_staging_monitor_runs_daily(plan_for):
    s = one(plan_for("azure-staging"), "machinelearningservices:Schedule")
    trigger = s.inputs["properties"]["trigger"]
    assert (trigger["frequency"], trigger["schedule"]["hours"]) == ("Day", [3]), s.urn


@pytest.mark.parametrize("stack", STACKS)
def test_action_group_emails_the_alert_recipients(plan_for, stack):
    plan = plan_for(stack)
    ag = one(plan, "monitor:ActionGroup")
    emails = [r["emailAddress"] for r in ag.inputs["emailReceivers"]]
    expected = {"azure-prod": ["churn-ml@example.com", "sre@example.com"]}.get(stack, ["churn-ml@example.com"])
    assert emails == expected, ag.urn
    assert len(ag.inputs["groupShortName"]) <= 12, ag.urn


def test_action_group_calls_the_retraining_function(plan_for):
    plan = plan_for("azure-prod")
    ag = one(plan, "monitor:ActionGroup")
    app = one(plan, "web:WebApp")
    (fn,) = ag.inputs["azureFunctionReceivers"]
    assert fn["functionAppResourceId"] == app.outputs["id"], ag.urn
    assert fn["httpTriggerUrl"] == f"https://{app.outputs['defaultHostName']}/api/alert", ag.urn


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_routes_to_the_action_group(plan_for, stack):
    plan = plan_for(stack)
    ag_id = one(plan, "monitor:ActionGroup").outputs["id"]
    metric = of(plan, "monitor:MetricAlert")
    assert metric, "no metric alerts"
    for r in metric:
        assert [a["actionGroupId"] for a in r.inputs["actions"]] == [ag_id], r.urn
    for r in of(plan, "monitor:ScheduledQueryRule"):
        assert r.inputs["actions"]["actionGroups"] == [ag_id], r.urn


def test_endpoint_and_node_pressure_alerts(plan_for):
    plan = plan_for("azure-prod")
    metrics = {r.inputs["criteria"]["allOf"][0]["metricName"]: r for r in of(plan, "monitor:MetricAlert")}
    assert {
        "RequestLatency_P95",
        "RequestsPerMinute",
        "node_cpu_usage_percentage",
        "node_memory_working_set_percentage",
    } <= set(metrics)
    latency = metrics["RequestLatency_P95"]
    assert latency.inputs["criteria"]["allOf"][0]["threshold"] == 500, latency.urn
    assert latency.inputs["scopes"] == [one(plan, "machinelearningservices:OnlineEndpoint").outputs["id"]]
    node = metrics["node_cpu_usage_percentage"]
    assert node.inputs["scopes"] == [one(plan, "containerservice:ManagedCluster").outputs["id"]], node.urn


def test_app_insights_failure_alert(plan_for):
    plan = plan_for("azure-dev")
    r = one(plan, "monitor:ScheduledQueryRule")
    assert r.inputs["scopes"] == [one(plan, "applicationinsights:Component").outputs["id"]], r.urn
    (cond,) = r.inputs["criteria"]["allOf"]
    assert "success == false" in cond["query"] and cond["threshold"] == 1, r.urn


def test_drift_events_reach_the_retraining_function(plan_for):
    """Event Grid's Azure Monitor alert destination takes Key Vault events only: the workspace's
    run events go to the function's Event Grid trigger."""
    plan = plan_for("azure-prod")
    sub = one(plan, "eventgrid:SystemTopicEventSubscription")
    app = one(plan, "web:WebApp")
    destination = sub.inputs["destination"]
    assert (destination["endpointType"], destination["resourceId"]) == (
        "AzureFunction",
        f"{app.outputs['id']}/functions/drift_event",
    ), sub.urn
    assert "actionGroups" not in destination, sub.urn
    assert sub.inputs["eventDeliverySchema"] == "EventGridSchema", sub.urn
    assert sub.inputs["filter"]["includedEventTypes"] == ["Microsoft.MachineLearningServices.RunStatusChanged"]
    topic = one(plan, "eventgrid:SystemTopic")
    assert topic.inputs["source"] == one(plan, "machinelearningservices:Workspace").outputs["id"], topic.urn


def test_retraining_function_is_locked_down(plan_for):
    plan = plan_for("azure-prod")
    app = one(plan, "web:WebApp")
    assert app.inputs["httpsOnly"] is True and app.inputs["siteConfig"]["minTlsVersion"] == "1.2", app.urn
    assert app.inputs["siteConfig"]["ftpsState"] == "Disabled", app.urn
    settings = {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}
    assert "AzureWebJobsStorage" not in settings, app.urn
    assert settings["AzureWebJobsStorage__blobServiceUri"].startswith("https://"), app.urn
    assert settings["RETRAIN_COOLDOWN_HOURS"] == "24", app.urn
    grant = by_name(plan, "access-retrain-workspace")
    assert grant.inputs["principalId"] == app.outputs["identity"]["principalId"], grant.urn


@pytest.mark.parametrize("stack,amount", [("azure-dev", 400), ("azure-prod", 8000)])
def test_budget(plan_for, stack, amount):
    plan = plan_for(stack)
    b = one(plan, "consumption:Budget")
    assert b.inputs["amount"] == amount and b.inputs["timeGrain"] == "Monthly", b.urn
    assert b.inputs["scope"] == one(plan, "resources:ResourceGroup").outputs["id"], b.urn
    actual = sorted(n["threshold"] for n in b.inputs["notifications"].values() if n["thresholdType"] == "Actual")
    assert actual == [50, 80, 100], b.urn
    assert b.inputs["timePeriod"]["startDate"].endswith("-01T00:00:00Z"), b.urn


def test_prod_pools_are_zonal_and_gpu_pool_is_tainted(plan_for):
    plan = plan_for("azure-prod")
    cluster = one(plan, "containerservice:ManagedCluster")
    assert cluster.inputs["agentPoolProfiles"][0]["availabilityZones"] == ["1", "2", "3"], cluster.urn
    assert cluster.inputs["agentPoolProfiles"][0]["mode"] == "System", cluster.urn
    gpu = by_name(plan, "kubernetes-gpu-pool")
    assert gpu.inputs["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule"], gpu.urn
    assert gpu.inputs["vmSize"] == "Standard_NC4as_T4_v3" and gpu.inputs["minCount"] == 0, gpu.urn
    assert by_name(plan, "kubernetes-user-pool").inputs["availabilityZones"] == ["1", "2", "3"]


def test_dev_user_pool_is_on_demand_from_zero_and_not_zonal(plan_for):
    pool = by_name(plan_for("azure-dev"), "kubernetes-user-pool")
    assert "scaleSetPriority" not in pool.inputs and pool.inputs["minCount"] == 0, pool.urn
    assert "availabilityZones" not in pool.inputs, pool.urn
    assert not [r for r in plan_for("azure-dev").resources if r.name == "kubernetes-gpu-pool"]


def test_drift_rule_name_is_stable():
    from infra import stackfile
    from infra.context import StackContext

    ctx = StackContext(stackfile.load("azure-prod").spec, "azure-prod")
    assert drift_rule_name(ctx) == drift_rule_name(ctx) and drift_rule_name(ctx).startswith("churn-prediction-prd-")
