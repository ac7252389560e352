"""AWS entry point: `deploy(ctx)` builds the SageMaker MLOps platform and returns the stack outputs.

Order follows the data flow: key -> stores -> network -> alert topic -> CI identities
(with the workload permissions boundary, when `ci` is set) -> roles -> Studio -> training
pipeline -> serving -> Model Monitor -> alarms/dashboard -> retraining -> budget. ARNs that would
form a cycle (the role must name the pipeline that runs as the role) are built from the
deterministic physical names.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.aws import images
from infra.aws.access import Access
from infra.aws.alerting import Alerting
from infra.aws.base import Account, served_package
from infra.aws.budget import Budget
from infra.aws.ci_identity import CiIdentity
from infra.aws.datalake import DataLake
from infra.aws.drift_check import DriftCheck, drift_check_function_name
from infra.aws.encryption import Encryption
from infra.aws.identity import DriftCheckTargets, Identity, RetrainTargets, RoleTargets
from infra.aws.monitor import ModelMonitor
from infra.aws.network import Network
from infra.aws.observability import EndpointAlarms, Observability, drift_alarm_names, endpoint_alarm_names
from infra.aws.registry import Registry
from infra.aws.retraining import Retraining, dead_letter_queue_name
from infra.aws.serving import Serving
from infra.aws.studio import Studio
from infra.aws.training import TrainingPipeline
from infra.context import StackContext


def aws_image_repositories(ctx: StackContext) -> list[str]:
    """ECR repositories of the AWS-owned images this stack pulls (scoped into the role policy)."""
    spec = ctx.spec
    uris = [images.training_image(spec)]
    if spec.serving.active:
        uris.append(images.inference_image(spec))
        if uses_model_monitor(ctx):
            uris.append(images.model_monitor_image(spec.region))
    arns = [images.ecr_repository_arn(u) for u in uris]
    return sorted({a for a in arns if a})


def boundary_image_repositories(ctx: StackContext) -> list[str]:
    """The AWS-owned repositories any workload may pull from, whether serving is on or not, so
    toggling serving does not change the (admin-managed) workload boundary."""
    spec = ctx.spec
    uris = [images.training_image(spec), images.inference_image(spec)]
    try:
        uris.append(images.model_monitor_image(spec.region))
    except images.ImageUnavailable:
        pass  # serving (which needs it) is rejected in such a region anyway
    return sorted({a for a in (images.ecr_repository_arn(u) for u in uris) if a})


def uses_model_monitor(ctx: StackContext) -> bool:
    return bool(ctx.spec.aws and ctx.spec.aws.drift_check == "model_monitor")


def drift_check_enabled(ctx: StackContext) -> bool:
    """The Model-Monitor-free drift check runs on a provisioned endpoint (serverless captures nothing)."""
    spec = ctx.spec
    return bool(spec.serving.active and not spec.serving.serverless and not uses_model_monitor(ctx))


def retraining_enabled(ctx: StackContext) -> bool:
    spec = ctx.spec
    return bool(
        spec.serving.active
        and not spec.serving.serverless
        and spec.monitoring.retrain_on_drift
        and spec.aws
        and spec.aws.drift_features
    )


def deploy(ctx: StackContext) -> dict[str, pulumi.Input]:
    spec = ctx.spec
    provider = aws.Provider("aws", region=spec.region)
    top = pulumi.ResourceOptions(providers=[provider])
    invoke = pulumi.InvokeOutputOptions(provider=provider)
    account = Account(
        account_id=aws.get_caller_identity_output(opts=invoke).account_id,
        partition=aws.get_partition_output(opts=invoke).partition,
        region=spec.region,
    )

    encryption = Encryption("encryption", ctx, account, opts=top)
    key = encryption.key_arn
    lake = DataLake("datalake", ctx, key, account, opts=top)
    registry = Registry("registry", ctx, key, opts=top)
    network = Network(
        "network",
        ctx,
        account,
        flow_log_bucket_arn=lake.monitoring.arn,
        flow_log_bucket_policy=lake.monitoring.policy,
        opts=top,
    )
    alerting = Alerting("alerting", ctx, account, key, opts=top)

    # Day 0 (no model_version): the platform without an endpoint; serving waits for a version.
    serving_on = spec.serving.active
    endpoint_name = ctx.name("sagemaker", "endpoint") if serving_on else None
    pipeline_name = ctx.name("sagemaker", "training")
    function_name = ctx.name("lambda_function", "retrain") if retraining_enabled(ctx) else None
    job_subnets = network.subnet_ids if network.private else []
    job_sgs = [network.security_group_id] if network.private else []

    # CI identities first: their workload boundary is set on every role Identity creates.
    ci = (
        CiIdentity(
            "ci", ctx, account, spec.ci, key_arn=key, image_repository_arns=boundary_image_repositories(ctx), opts=top
        )
        if spec.ci
        else None
    )
    identity = Identity(
        "identity",
        ctx,
        account,
        RoleTargets(
            bucket_arns=lake.bucket_arns,
            key_arn=key,
            repository_arns=[registry.repository_arn, *aws_image_repositories(ctx)],
            pipeline_name=pipeline_name,
            model_package_group=registry.model_package_group_name,
            endpoint_name=endpoint_name,
            subnet_ids=job_subnets,
            security_group_ids=job_sgs,
        ),
        RetrainTargets(function_name, alerting.topic_arn, dead_letter_queue_name(ctx), drift_alarm_names(ctx))
        if function_name
        else None,
        boundary_arn=ci.boundary_arn if ci else None,
        drift_check=DriftCheckTargets(drift_check_function_name(ctx), served_package(spec).arn)
        if drift_check_enabled(ctx)
        else None,
        opts=top,
    )
    role = identity.sagemaker_role_arn

    studio = Studio(
        "studio",
        ctx,
        role_arn=identity.studio_role_arn,
        key_arn=key,
        vpc_id=network.vpc_id,
        subnet_ids=network.subnet_ids,
        security_group_id=network.security_group_id,
        artifacts_bucket=lake.artifacts.name,
        opts=top,
    )
    training = TrainingPipeline(
        "training",
        ctx,
        pipeline_name=pipeline_name,
        role_arn=role,
        raw_bucket=lake.raw.name,
        artifacts_bucket=lake.artifacts.name,
        key_arn=key,
        model_package_group=registry.model_package_group_name,
        subnet_ids=job_subnets,
        security_group_ids=job_sgs,
        opts=top,
    )
    access = Access(
        "access",
        ctx,
        account,
        domain_id=studio.domain_id,
        user_profile_names=studio.user_profile_names,
        model_package_group=registry.model_package_group_name,
        topic_arn=alerting.topic_arn,
        boundary_arn=ci.boundary_arn if ci else None,
        opts=top,
    )
    serving = monitor = endpoint_alarms = None
    if endpoint_name is not None:  # serving_on
        # Before the endpoint: its blue/green deployments roll back on these alarms.
        endpoint_alarms = EndpointAlarms(
            "endpoint-alarms", ctx, topic_arn=alerting.topic_arn, endpoint_name=endpoint_name, opts=top
        )
        serving = Serving(
            "serving",
            ctx,
            endpoint_name=endpoint_name,
            role_arn=role,
            key_arn=key,
            rollback_alarms=endpoint_alarm_names(ctx),
            alarms=endpoint_alarms.alarms,
            monitoring_bucket=lake.monitoring.name,
            subnet_ids=job_subnets,
            security_group_ids=job_sgs,
            private=network.private,
            opts=top,
        )
        # Serverless endpoints capture no data (SageMaker: data capture is not supported on serverless
        # endpoints), so there is nothing to check drift on: use a small provisioned endpoint instead.
        if serving.serverless:
            pulumi.log.warn(
                "serverless endpoints capture no data: no drift check; set serving.serverless: false "
                "(e.g. sku ml.t3.medium) to run the drift -> retraining loop"
            )
        elif uses_model_monitor(ctx):
            monitor = ModelMonitor(
                "monitor",
                ctx,
                endpoint_name=serving.endpoint_name,
                role_arn=role,
                key_arn=key,
                monitoring_bucket=lake.monitoring.name,
                subnet_ids=job_subnets,
                security_group_ids=job_sgs,
                opts=top,
            )
        else:
            # drift_check_enabled(ctx) holds here, so Identity created the drift check role.
            drift_check_role_arn = identity.drift_check_role_arn
            if drift_check_role_arn is None:
                raise RuntimeError("drift check without its role: Identity got no DriftCheckTargets")
            monitor = DriftCheck(
                "drift-check",
                ctx,
                endpoint_name=serving.endpoint_name,
                role_arn=drift_check_role_arn,
                monitoring_bucket=lake.monitoring.name,
                model_package_arn=served_package(spec).arn,
                key_arn=key,
                topic_arn=alerting.topic_arn,
                opts=top,
            )
    observability = Observability(
        "observability",
        ctx,
        topic_arn=alerting.topic_arn,
        endpoint_name=serving.endpoint_name if serving else None,
        drift=monitor.drift if monitor else None,
        pipeline_name=pipeline_name,
        function_name=function_name,
        opts=top,
    )
    retraining = None
    if function_name and observability.drift_alarm_arn is not None:
        # function_name is set, so Identity created the retraining role (RetrainTargets).
        lambda_role_arn = identity.lambda_role_arn
        if lambda_role_arn is None:
            raise RuntimeError("retraining without its role: Identity got no RetrainTargets")
        retraining = Retraining(
            "retraining",
            ctx,
            function_name=function_name,
            role_arn=lambda_role_arn,
            pipeline_name=pipeline_name,
            topic_arn=alerting.topic_arn,
            alarm_arn=observability.drift_alarm_arn,
            alarm_names=drift_alarm_names(ctx),
            key_arn=key,
            opts=pulumi.ResourceOptions(providers=[provider], depends_on=[training]),
        )
    Budget("budget", ctx, opts=top)

    return {
        "raw_bucket": lake.raw.name,
        "artifacts_bucket": lake.artifacts.name,
        "monitoring_bucket": lake.monitoring.name,
        "kms_key_arn": key,
        "kms_key_alias": encryption.alias_name,
        "sagemaker_role_arn": role,
        "studio_role_arn": identity.studio_role_arn,
        # Data scientists assume their role, then `aws sagemaker create-presigned-domain-url`.
        "studio_access_role_arns": access.studio_access_role_arns,
        # Admins assume it to approve versions (`aws sagemaker update-model-package`).
        "model_approver_role_arn": access.model_approver_role_arn,
        "studio_domain_id": studio.domain_id,
        "studio_url": studio.url,
        "pipeline_name": pipeline_name,
        "pipeline_arn": training.pipeline_arn,
        "model_package_group": registry.model_package_group_name,
        "endpoint_name": serving.endpoint_name if serving else None,
        "monitoring_schedule": monitor.schedule_name if monitor else None,
        "drift_check": ("model_monitor" if uses_model_monitor(ctx) else "lambda") if monitor else None,
        "repository_url": registry.repository_url,
        "dashboard_url": observability.dashboard_url,
        "alert_topic_arn": alerting.topic_arn,
        "vpc_id": network.vpc_id,
        "retrain_function_arn": retraining.function_arn if retraining else None,
        # GitHub Actions variables (see .github/workflows/mlops-checks.yml); null without `ci`.
        "ci_preview_role_arn": ci.preview_role_arn if ci else None,
        "ci_deploy_role_arn": ci.deploy_role_arn if ci else None,
        "ci_oidc_provider_arn": ci.provider_arn if ci else None,
        "ci_workload_boundary_arn": ci.boundary_arn if ci else None,
    }
