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


@pytest.mark.parametrize("stack,percent", [("aws-dev", 100), ("aws-staging", 100), ("aws-prod", 25)])
def test_provisioned_endpoints_capture_data_to_the_monitoring_bucket(plan_for, stack, percent):
    plan = plan_for(stack)
    config = one(plan, CONFIG)
    capture = config.inputs["dataCaptureConfig"]
    assert capture["enableCapture"] is True, config.urn
    assert capture["initialSamplingPercentage"] == percent, config.urn
    assert capture["destinationS3Uri"] == f"s3://{plan.outputs['monitoring_bucket']}/data-capture", config.urn
    assert capture["kmsKeyId"] == plan.outputs["kms_key_arn"], config.urn
    assert {o["captureMode"] for o in capture["captureOptions"]} == {"Input", "Output"}


def test_dev_serves_one_small_instance_that_captures_data(plan_for):
    """Serverless endpoints capture nothing, so dev's loop could never fire: dev runs the cheapest
    real-time instance with data capture (ml.t3.medium, RealTimeInferenceConfig's valid values)."""
    plan = plan_for("aws-dev")
    variant = _variant(plan)
    assert (variant["instanceType"], variant["initialInstanceCount"]) == ("ml.t3.medium", 1)
    assert "serverlessConfig" not in variant
    assert one(plan, CONFIG).inputs["dataCaptureConfig"]["enableCapture"] is True


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
    endpoint, config, model = (
        one(plan, t) for t in ("aws:sagemaker/endpoint:Endpoint", CONFIG, "aws:sagemaker/model:Model")
    )
    assert endpoint.inputs["endpointConfigName"] == config.outputs["name"], endpoint.urn
    assert _variant(plan)["modelName"] == model.outputs["name"], config.urn
    assert model.inputs["executionRoleArn"] == plan.outputs["sagemaker_role_arn"], model.urn
    # The model serves the stack's registered version, not a bucket path nothing creates.
    assert model.inputs["primaryContainer"] == {"modelPackageName": plan.outputs["serving_model_version"]}, model.urn


@pytest.mark.parametrize("stack,expression", [("aws-staging", "cron(0 0 ? * * *)")])
def test_monitoring_schedule_is_wired_to_the_endpoint(plan_for, stack, expression):
    plan = plan_for(stack)
    schedule, job = one(plan, SCHEDULE), one(plan, JOB)
    config = schedule.inputs["monitoringScheduleConfig"]
    assert config["monitoringJobDefinitionName"] == job.outputs["name"], schedule.urn
    assert config["scheduleConfig"]["scheduleExpression"] == expression, schedule.urn
    assert job.inputs["dataQualityJobInput"]["endpointInput"]["endpointName"] == plan.outputs["endpoint_name"], job.urn


@pytest.mark.parametrize("stack", ["aws-staging"])
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
    alarm = one(plan, ALARM, "endpoint-alarms-latency")
    assert alarm.inputs["metricName"] == "ModelLatency" and alarm.inputs["namespace"] == "AWS/SageMaker"
    assert alarm.inputs["threshold"] == threshold, alarm.urn
    assert alarm.inputs["dimensions"]["EndpointName"] == plan.outputs["endpoint_name"], alarm.urn


def test_error_alarm_is_a_5xx_rate(plan_for):
    plan = plan_for("aws-prod")
    alarm = one(plan, ALARM, "endpoint-alarms-errors")
    metrics = {q["id"]: q for q in alarm.inputs["metricQueries"]}
    assert metrics["errors"]["metric"]["metricName"] == "Invocation5XXErrors"
    assert metrics["errors"]["metric"]["dimensions"]["EndpointName"] == plan.outputs["endpoint_name"]
    assert metrics["error_rate"]["returnData"] is True and alarm.inputs["threshold"] == 1


@pytest.mark.parametrize("stack", STACKS)
def test_drift_alarms_watch_the_drift_metrics_of_either_path(plan_for, stack):
    """Model Monitor (staging) and the Lambda drift check (dev, prod) publish the same metrics."""
    plan = plan_for(stack)
    namespace = "aws/sagemaker/Endpoints/data-metrics"
    drift = [a for a in of_type(plan, ALARM) if a.name.startswith("observability-drift-")]
    assert len(drift) == 3
    schedule = (
        one(plan, SCHEDULE).outputs["name"]
        if plan.outputs["drift_check"] == "model_monitor"
        else one(plan, "aws:cloudwatch/eventRule:EventRule", "drift-check-schedule").inputs["name"]
    )
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
    rule = one(plan, "aws:cloudwatch/eventRule:EventRule", "retraining-on-drift")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["resources"] == [composite.outputs["arn"]], rule.urn
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}, rule.urn
    function = one(plan, "aws:lambda/function:Function", "retraining-function")
    target = one(plan, "aws:cloudwatch/eventTarget:EventTarget", "retraining-target")
    assert (target.inputs["rule"], target.inputs["arn"]) == (rule.outputs["name"], function.outputs["arn"])
    permission = one(plan, "aws:lambda/permission:Permission", "retraining-allow-events")
    assert permission.inputs["principal"] == "events.amazonaws.com", permission.urn
    assert permission.inputs["sourceArn"] == rule.outputs["arn"], permission.urn


@pytest.mark.parametrize("stack,cooldown", [("aws-dev", "24"), ("aws-prod", "24")])
def test_retraining_function_configuration(plan_for, stack, cooldown):
    plan = plan_for(stack)
    function = one(plan, "aws:lambda/function:Function", "retraining-function")
    assert function.inputs["runtime"] == "python3.12" and function.inputs["handler"] == "retrain.handler"
    variables = dict(function.inputs["environment"]["variables"])
    alarms = set(variables.pop("DRIFT_ALARM_NAMES").split(","))
    assert variables == {
        "PIPELINE_NAME": plan.outputs["pipeline_name"],
        "TOPIC_ARN": plan.outputs["alert_topic_arn"],
        "COOLDOWN_HOURS": cooldown,
        "DATA_WINDOW_DAYS": "30",
    }
    assert alarms == {a.inputs["name"] for a in of_type(plan, ALARM) if a.name.startswith("observability-drift-")}
    assert function.inputs["role"] == by_name(plan)["identity-retrain"].outputs["arn"], function.urn
    log_group = one(plan, "aws:cloudwatch/logGroup:LogGroup", "retraining-logs")
    assert log_group.inputs["name"] == f"/aws/lambda/{function.inputs['name']}"
    assert log_group.inputs["kmsKeyId"] == plan.outputs["kms_key_arn"], log_group.urn


@pytest.mark.parametrize(
    "stack,limit,thresholds", [("aws-dev", "300.00", [50, 80, 100]), ("aws-prod", "6000.00", [50, 80, 100, 120])]
)
def test_budget_counts_from_day_0(plan_for, stack, limit, thresholds):
    """A tag-filtered budget counts $0 until the tag is activated (not possible in the first up)."""
    budget = one(plan_for(stack), "aws:budgets/budget:Budget")
    assert budget.inputs["budgetType"] == "COST" and budget.inputs["timeUnit"] == "MONTHLY"
    assert budget.inputs["limitAmount"] == limit, budget.urn
    assert "costFilters" not in budget.inputs, budget.urn
    assert [n["threshold"] for n in budget.inputs["notifications"]] == thresholds
    assert all(n["subscriberEmailAddresses"] for n in budget.inputs["notifications"]), budget.urn


@pytest.mark.parametrize("stack", STACKS)
def test_dashboard_shows_the_endpoint(plan_for, stack):
    plan = plan_for(stack)
    body = doc(one(plan, "aws:cloudwatch/dashboard:Dashboard"), "dashboardBody")
    flat = json.dumps(body)
    assert plan.outputs["endpoint_name"] in flat and plan.outputs["pipeline_name"] in flat


@pytest.mark.parametrize("stack", STACKS)
def test_failed_retraining_events_land_in_the_dead_letter_queue(plan_for, stack):
    plan = plan_for(stack)
    queue = one(plan, "aws:sqs/queue:Queue", "retraining-dlq")
    function = one(plan, "aws:lambda/function:Function", "retraining-function")
    assert function.inputs["deadLetterConfig"] == {"targetArn": queue.outputs["arn"]}, function.urn
    for target in [
        t for t in of_type(plan, "aws:cloudwatch/eventTarget:EventTarget") if t.name.startswith("retraining-")
    ]:
        assert target.inputs["deadLetterConfig"] == {"arn": queue.outputs["arn"]}, target.urn
    policy = doc(one(plan, "aws:sqs/queuePolicy:QueuePolicy"))
    (allow,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    rules = {
        r.outputs["arn"]
        for r in of_type(plan, "aws:cloudwatch/eventRule:EventRule")
        if r.name.startswith("retraining-")
    }
    assert set(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == rules
    role = doc(one(plan, "aws:iam/rolePolicy:RolePolicy", "identity-retrain-policy"))
    sends = [s for s in role["Statement"] if "sqs:SendMessage" in s["Action"]]
    assert sends and sends[0]["Resource"] == [queue.outputs["arn"]], "the function may not write its DLQ"


@pytest.mark.parametrize("stack", STACKS)
def test_recheck_may_read_exactly_the_drift_alarms(plan_for, stack):
    plan = plan_for(stack)
    role = doc(one(plan, "aws:iam/rolePolicy:RolePolicy", "identity-retrain-policy"))
    (read,) = [s for s in role["Statement"] if s["Action"] == ["cloudwatch:DescribeAlarms"]]
    drift = {a.outputs["arn"] for a in of_type(plan, ALARM) if a.name.startswith("observability-drift-")}
    assert set(read["Resource"]) == drift and len(drift) == 3


@pytest.mark.parametrize("stack", STACKS)
def test_retraining_failures_alarm(plan_for, stack):
    plan = plan_for(stack)
    errors = one(plan, ALARM, "retraining-errors")
    assert (errors.inputs["namespace"], errors.inputs["metricName"]) == ("AWS/Lambda", "Errors")
    assert errors.inputs["dimensions"] == {
        "FunctionName": one(plan, "aws:lambda/function:Function", "retraining-function").outputs["name"]
    }
    letters = one(plan, ALARM, "retraining-dead-letters")
    assert letters.inputs["dimensions"] == {"QueueName": one(plan, "aws:sqs/queue:Queue").outputs["name"]}
    assert errors.inputs["threshold"] == 0 and letters.inputs["threshold"] == 0


@pytest.mark.parametrize("stack", STACKS)
def test_drift_is_rechecked_once_per_cooldown(plan_for, stack):
    plan = plan_for(stack)
    rule = one(plan, "aws:cloudwatch/eventRule:EventRule", "retraining-recheck")
    assert rule.inputs["scheduleExpression"] == "rate(24 hours)", rule.urn
    target = one(plan, "aws:cloudwatch/eventTarget:EventTarget", "retraining-recheck-target")
    assert target.inputs["arn"] == one(plan, "aws:lambda/function:Function", "retraining-function").outputs["arn"]
    permission = one(plan, "aws:lambda/permission:Permission", "retraining-allow-recheck")
    assert permission.inputs["sourceArn"] == rule.outputs["arn"], permission.urn


def test_recheck_expression_uses_the_singular_for_one_hour():
    from infra.aws.retraining import recheck_expression

    assert recheck_expression(1) == "rate(1 hour)" and recheck_expression(6) == "rate(6 hours)"


@pytest.mark.parametrize(
    "stack,check", [("aws-dev", "lambda"), ("aws-staging", "model_monitor"), ("aws-prod", "lambda")]
)
def test_each_drift_check_path_is_shown_by_a_reference_stack(plan_for, stack, check):
    plan = plan_for(stack)
    assert plan.outputs["drift_check"] == check
    has_monitor = bool(plan.of_type(SCHEDULE))
    functions = {f.name for f in plan.of_type("aws:lambda/function:Function")}
    assert has_monitor == (check == "model_monitor") and ("drift-check-function" in functions) == (check == "lambda")


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_lambda_drift_check_reads_the_served_version_and_the_endpoint_capture(plan_for, stack):
    plan = plan_for(stack)
    function = one(plan, "aws:lambda/function:Function", "drift-check-function")
    env = function.inputs["environment"]["variables"]
    assert env["MODEL_PACKAGE_ARN"] == plan.outputs["serving_model_version"]
    assert env["ENDPOINT_NAME"] == plan.outputs["endpoint_name"]
    assert env["CAPTURE_BUCKET"] == plan.outputs["monitoring_bucket"] and env["CAPTURE_PREFIX"] == "data-capture"
    capture = one(plan, CONFIG).inputs["dataCaptureConfig"]["destinationS3Uri"]
    assert capture == f"s3://{env['CAPTURE_BUCKET']}/{env['CAPTURE_PREFIX']}"
    assert function.inputs["handler"] == "drift_check.handler"
    role = doc(one(plan, "aws:iam/rolePolicy:RolePolicy", "identity-drift-check-policy"))
    (describe,) = [s for s in role["Statement"] if s["Action"] == ["sagemaker:DescribeModelPackage"]]
    assert describe["Resource"] == [plan.outputs["serving_model_version"]]


def test_lambda_bundles_include_the_shared_drift_engine():
    from infra import code_assets
    from infra.aws import code
    from infra.context import StackContext  # noqa: F401
    from infra.spec.model import WorkloadSpec

    files = code_assets.bundle(WorkloadSpec(), code.RUNTIME_DIR).files
    assert {
        "drift_check.py",
        "retrain.py",
        "pipeline_step.py",
        "mlops_workload/drift.py",
        "mlops_workload/capture.py",
    } <= set(files)


@pytest.mark.parametrize(
    "stack,metric",
    [
        ("aws-dev", "drift_check_rows"),
        ("aws-staging", "feature_baseline_drift_transaction_amount"),
        ("aws-prod", "drift_check_rows"),
    ],
)
def test_missing_drift_data_alarms(plan_for, stack, metric):
    """A monitor that never runs must not look healthy: missing drift data is breaching."""
    plan = plan_for(stack)
    stale = one(plan, ALARM, "observability-stale-drift-data")
    assert stale.inputs["treatMissingData"] == "breaching" and stale.inputs["metricName"] == metric, stale.urn
    assert stale.inputs["comparisonOperator"] == "LessThanThreshold" and stale.inputs["statistic"] == "SampleCount"
    drift = [a for a in of_type(plan, ALARM) if a.name.startswith("observability-drift-")]
    assert drift and stale.inputs["dimensions"] == drift[0].inputs["dimensions"]


@pytest.mark.parametrize("stack", STACKS)
def test_failed_training_runs_alarm(plan_for, stack):
    plan = plan_for(stack)
    alarm = one(plan, ALARM, "observability-pipeline-failed")
    assert alarm.inputs["metricName"] == "ExecutionFailed"
    assert alarm.inputs["dimensions"] == {"PipelineName": plan.outputs["pipeline_name"]}


@pytest.mark.parametrize(
    "stack,routing", [("aws-dev", "ALL_AT_ONCE"), ("aws-staging", "ALL_AT_ONCE"), ("aws-prod", "CANARY")]
)
def test_new_versions_roll_out_blue_green_with_automatic_rollback(plan_for, stack, routing):
    plan = plan_for(stack)
    endpoint = one(plan, "aws:sagemaker/endpoint:Endpoint")
    config = endpoint.inputs["deploymentConfig"]
    policy = config["blueGreenUpdatePolicy"]
    assert policy["trafficRoutingConfiguration"]["type"] == routing, endpoint.urn
    if routing == "CANARY":  # at most half the fleet
        assert policy["trafficRoutingConfiguration"]["canarySize"] == {"type": "INSTANCE_COUNT", "value": 1}
    alarms = {
        a.inputs["name"]: a
        for a in of_type(plan, ALARM)
        if a.name in ("endpoint-alarms-latency", "endpoint-alarms-errors")
    }
    assert {a["alarmName"] for a in config["autoRollbackConfiguration"]["alarms"]} == set(alarms)
    assert all(a.urn in endpoint.dependencies for a in alarms.values()), "rollback alarms must exist first"


def test_budget_on_the_stack_tag_is_a_choice_for_shared_accounts():
    from infra.aws.budget import cost_filters
    from infra.context import StackContext  # noqa: F401
    from infra.spec import Spec

    class _Ctx:
        stack = "team-aws-dev"
        spec = Spec.model_validate(
            dict(
                team="team",
                cloud="aws",
                environment="dev",
                region="us-east-1",
                owner="a@example.com",
                cost_center="cc",
                aws={"budget_scope": "stack_tag"},
            )
        )

    assert cost_filters(_Ctx()) == [{"name": "TagKeyValue", "values": ["user:stack$team-aws-dev"]}]


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_drift_check_failures_alarm(plan_for, stack):
    plan = plan_for(stack)
    alarm = one(plan, ALARM, "drift-check-errors")
    function = one(plan, "aws:lambda/function:Function", "drift-check-function")
    assert alarm.inputs["dimensions"] == {"FunctionName": function.outputs["name"]}
    assert alarm.inputs["alarmActions"] == [plan.outputs["alert_topic_arn"]]
