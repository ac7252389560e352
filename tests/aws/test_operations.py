"""Serving, Model Monitor, alarms, retraining and budget: wiring and environment differences."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pulumi_aws")

from tests.aws.helpers import STACKS, by_name, doc, of_type, one  # noqa: E402

CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
JOB = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _variant(plan):
    (variant,) = one(plan, CONFIG).inputs["productionVariants"]
    return variant


@pytest.mark.parametrize("stack,percent", [("aws-staging", 100), ("aws-prod", 25)])
def test_provisioned_endpoints_capture_data_to_the_monitoring_bucket(plan_for, stack, percent):
    plan = plan_for(stack)
    config = one(plan, CONFIG)
    capture = config.inputs["dataCaptureConfig"]
    assert capture["enableCapture"] is True, config.urn
    assert capture["initialSamplingPercentage"] == percent, config.urn
    assert capture["destinationS3Uri"] == f"s3://{plan.outputs['monitoring_bucket']}/data-capture", config.urn
    assert capture["kmsKeyId"] == plan.outputs["kms_key_arn"], config.urn
    assert {o["captureMode"] for o in capture["captureOptions"]} == {"Input", "Output"}


def test_dev_serves_serverless_without_instances_or_capture(plan_for):
    plan = plan_for("aws-dev")
    variant = _variant(plan)
    assert variant["serverlessConfig"] == {"memorySizeInMb": 2048, "maxConcurrency": 5}
    assert "instanceType" not in variant and "initialInstanceCount" not in variant
    assert "dataCaptureConfig" not in one(plan, CONFIG).inputs  # unsupported on serverless
    assert not plan.of_type("aws:appautoscaling/target:Target")


@pytest.mark.parametrize("stack,instances,sku", [("aws-staging", 1, "ml.m5.large"), ("aws-prod", 2, "ml.m5.xlarge")])
def test_provisioned_variant_size_comes_from_the_spec(plan_for, stack, instances, sku):
    variant = _variant(plan_for(stack))
    assert variant["initialInstanceCount"] == instances and variant["instanceType"] == sku


@pytest.mark.parametrize("stack,low,high,target", [("aws-staging", 1, 2, 100), ("aws-prod", 2, 6, 200)])
def test_autoscaling_tracks_invocations_per_instance(plan_for, stack, low, high, target):
    plan = plan_for(stack)
    scaling = one(plan, "aws:appautoscaling/target:Target")
    endpoint = plan.outputs["endpoint_name"]
    assert scaling.inputs["resourceId"] == f"endpoint/{endpoint}/variant/AllTraffic", scaling.urn
    assert (scaling.inputs["minCapacity"], scaling.inputs["maxCapacity"]) == (low, high), scaling.urn
    policy = one(plan, "aws:appautoscaling/policy:Policy")
    tracking = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"
    assert tracking["targetValue"] == target and scaling.urn in policy.dependencies, policy.urn


@pytest.mark.parametrize("stack", STACKS)
def test_endpoint_uses_its_configuration_and_model(plan_for, stack):
    plan = plan_for(stack)
    endpoint, config, model = (one(plan, t) for t in ("aws:sagemaker/endpoint:Endpoint", CONFIG,
                                                      "aws:sagemaker/model:Model"))
    assert endpoint.inputs["endpointConfigName"] == config.outputs["name"], endpoint.urn
    assert _variant(plan)["modelName"] == model.outputs["name"], config.urn
    assert model.inputs["executionRoleArn"] == plan.outputs["sagemaker_role_arn"], model.urn
    # The model serves the stack's registered version, not a bucket path nothing creates.
    assert model.inputs["primaryContainer"] == {"modelPackageName": plan.outputs["serving_model_version"]}, model.urn


@pytest.mark.parametrize("stack,expression", [("aws-staging", "cron(0 0 ? * * *)"), ("aws-prod", "cron(0 * ? * * *)")])
def test_monitoring_schedule_is_wired_to_the_endpoint(plan_for, stack, expression):
    plan = plan_for(stack)
    schedule, job = one(plan, SCHEDULE), one(plan, JOB)
    config = schedule.inputs["monitoringScheduleConfig"]
    assert config["monitoringJobDefinitionName"] == job.outputs["name"], schedule.urn
    assert config["scheduleConfig"]["scheduleExpression"] == expression, schedule.urn
    assert job.inputs["dataQualityJobInput"]["endpointInput"]["endpointName"] == plan.outputs["endpoint_name"], job.urn


@pytest.mark.parametrize("stack", STACKS)
def test_monitor_job_is_encrypted_baselined_and_publishes_metrics(plan_for, stack):
    plan = plan_for(stack)
    job = one(plan, JOB)
    bucket, key = plan.outputs["monitoring_bucket"], plan.outputs["kms_key_arn"]
    baseline = job.inputs["dataQualityBaselineConfig"]
    assert baseline["constraintsResource"]["s3Uri"] == f"s3://{bucket}/baselines/fraud-scorer/constraints.json"
    assert baseline["statisticsResource"]["s3Uri"] == f"s3://{bucket}/baselines/fraud-scorer/statistics.json"
    assert job.inputs["dataQualityJobOutputConfig"]["kmsKeyId"] == key, job.urn
    assert job.inputs["jobResources"]["clusterConfig"]["volumeKmsKeyId"] == key, job.urn
    assert job.inputs["dataQualityAppSpecification"]["environment"] == {"publish_cloudwatch_metrics": "Enabled"}
    assert job.inputs["networkConfig"]["enableInterContainerTrafficEncryption"] is True, job.urn


def test_dev_monitors_batch_transform_captures(plan_for):
    plan = plan_for("aws-dev")
    job_input = one(plan, JOB).inputs["dataQualityJobInput"]
    assert "endpointInput" not in job_input
    assert job_input["batchTransformInput"]["dataCapturedDestinationS3Uri"] == \
        f"s3://{plan.outputs['monitoring_bucket']}/batch-capture/"


@pytest.mark.parametrize("stack", STACKS)
def test_every_alarm_notifies_the_alert_topic(plan_for, stack):
    plan = plan_for(stack)
    topic = plan.outputs["alert_topic_arn"]
    alarms = of_type(plan, ALARM) + of_type(plan, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [topic], alarm.urn


@pytest.mark.parametrize("stack,threshold", [("aws-dev", 500_000), ("aws-prod", 300_000)])
def test_latency_alarm_threshold_is_in_microseconds(plan_for, stack, threshold):
    plan = plan_for(stack)
    alarm = one(plan, ALARM, "observability-latency")
    assert alarm.inputs["metricName"] == "ModelLatency" and alarm.inputs["namespace"] == "AWS/SageMaker"
    assert alarm.inputs["threshold"] == threshold, alarm.urn
    assert alarm.inputs["dimensions"]["EndpointName"] == plan.outputs["endpoint_name"], alarm.urn


def test_error_alarm_is_a_5xx_rate(plan_for):
    plan = plan_for("aws-prod")
    alarm = one(plan, ALARM, "observability-errors")
    metrics = {q["id"]: q for q in alarm.inputs["metricQueries"]}
    assert metrics["errors"]["metric"]["metricName"] == "Invocation5XXErrors"
    assert metrics["errors"]["metric"]["dimensions"]["EndpointName"] == plan.outputs["endpoint_name"]
    assert metrics["error_rate"]["returnData"] is True and alarm.inputs["threshold"] == 1


@pytest.mark.parametrize("stack,namespace", [("aws-dev", "aws/sagemaker/ModelMonitoring/data-metrics"),
                                             ("aws-prod", "aws/sagemaker/Endpoints/data-metrics")])
def test_drift_alarms_watch_monitor_metrics(plan_for, stack, namespace):
    plan = plan_for(stack)
    drift = [a for a in of_type(plan, ALARM) if a.inputs.get("metricName", "").startswith("feature_baseline_drift_")]
    assert len(drift) == 3
    schedule = one(plan, SCHEDULE).outputs["name"]
    for alarm in drift:
        assert alarm.inputs["namespace"] == namespace, alarm.urn
        assert alarm.inputs["dimensions"]["MonitoringSchedule"] == schedule, alarm.urn
        assert alarm.inputs["threshold"] == 0.2, alarm.urn
    composite = one(plan, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
    for alarm in drift:
        assert f'ALARM("{alarm.inputs["name"]}")' in composite.inputs["alarmRule"], composite.urn


def test_prod_drift_alarms_name_the_endpoint(plan_for):
    plan = plan_for("aws-prod")
    alarm = one(plan, ALARM, "observability-drift-transaction_amount")
    assert alarm.inputs["dimensions"]["Endpoint"] == plan.outputs["endpoint_name"], alarm.urn


@pytest.mark.parametrize("stack", STACKS)
def test_drift_alarm_triggers_the_retraining_function(plan_for, stack):
    plan = plan_for(stack)
    composite = one(plan, "aws:cloudwatch/compositeAlarm:CompositeAlarm")
    rule = one(plan, "aws:cloudwatch/eventRule:EventRule")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["resources"] == [composite.outputs["arn"]], rule.urn
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}, rule.urn
    function = one(plan, "aws:lambda/function:Function")
    target = one(plan, "aws:cloudwatch/eventTarget:EventTarget")
    assert (target.inputs["rule"], target.inputs["arn"]) == (rule.outputs["name"], function.outputs["arn"])
    permission = one(plan, "aws:lambda/permission:Permission")
    assert permission.inputs["principal"] == "events.amazonaws.com", permission.urn
    assert permission.inputs["sourceArn"] == rule.outputs["arn"], permission.urn


@pytest.mark.parametrize("stack,cooldown", [("aws-dev", "24"), ("aws-prod", "24")])
def test_retraining_function_configuration(plan_for, stack, cooldown):
    plan = plan_for(stack)
    function = one(plan, "aws:lambda/function:Function")
    assert function.inputs["runtime"] == "python3.12" and function.inputs["handler"] == "retrain.handler"
    assert function.inputs["environment"]["variables"] == {
        "PIPELINE_NAME": plan.outputs["pipeline_name"], "TOPIC_ARN": plan.outputs["alert_topic_arn"],
        "COOLDOWN_HOURS": cooldown}
    assert function.inputs["role"] == by_name(plan)["identity-retrain"].outputs["arn"], function.urn
    log_group = one(plan, "aws:cloudwatch/logGroup:LogGroup")
    assert log_group.inputs["name"] == f"/aws/lambda/{function.inputs['name']}"
    assert log_group.inputs["kmsKeyId"] == plan.outputs["kms_key_arn"], log_group.urn


@pytest.mark.parametrize("stack,limit,thresholds", [("aws-dev", "300.00", [50, 80, 100]),
                                                     ("aws-prod", "6000.00", [50, 80, 100, 120])])
def test_budget_filters_on_the_stack_tag(plan_for, stack, limit, thresholds):
    budget = one(plan_for(stack), "aws:budgets/budget:Budget")
    assert budget.inputs["budgetType"] == "COST" and budget.inputs["timeUnit"] == "MONTHLY"
    assert budget.inputs["limitAmount"] == limit, budget.urn
    assert budget.inputs["costFilters"] == [{"name": "TagKeyValue", "values": [f"user:stack${stack}"]}]
    assert [n["threshold"] for n in budget.inputs["notifications"]] == thresholds
    assert all(n["subscriberEmailAddresses"] for n in budget.inputs["notifications"]), budget.urn


@pytest.mark.parametrize("stack", STACKS)
def test_dashboard_shows_the_endpoint(plan_for, stack):
    plan = plan_for(stack)
    body = doc(one(plan, "aws:cloudwatch/dashboard:Dashboard"), "dashboardBody")
    flat = json.dumps(body)
    assert plan.outputs["endpoint_name"] in flat and plan.outputs["pipeline_name"] in flat
