"""AWS deployability rules: what makes a first `pulumi up` fail although the preview passes."""

from __future__ import annotations

import json
from collections.abc import Iterator

from policies.aws._shared import ROLE, C
from policies.core import Ctx, Rule, StackResource, as_list, dig, is_unknown
from policies.graph import Graph, short
from policies.objects import CODE_SETTING, Location, Uploads, object_uri

MODEL = "aws:sagemaker/model:Model"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
FUNCTION = "aws:lambda/function:Function"
PERMISSION_TYPES = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
# Inputs through which a service assumes a role (SageMaker, Lambda, EventBridge, Step Functions ...).
ROLE_USE_KEYS = ("role", "roleArn", "executionRoleArn", "executionRole", "serviceRole", "serviceRoleArn")
# CreateEndpoint downloads the artifact and fails when it is missing; pulumi-aws waits for InService.
MODEL_DOC = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html"
CODE_DOC = "https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-steps.html"
# "Changes that I make are not always immediately visible": IAM is eventually consistent.
IAM_DOC = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html"
    "#troubleshoot_general_eventual-consistency"
)


# ---- serving resources whose artifact nothing creates --------------------------------------------


def _model_artifacts(model: StackResource, uploads: Uploads) -> Iterator[tuple[str, Location | None]]:
    containers = [model.props.get("primaryContainer"), *as_list(model.props.get("containers"))]
    for i, container in enumerate(c for c in containers if isinstance(c, dict)):
        where = "primaryContainer" if i == 0 and model.props.get("primaryContainer") else f"containers[{i}]"
        if container.get("modelDataUrl") is not None:
            yield f"{where}.modelDataUrl", uploads.parse(container.get("modelDataUrl"))
        source = dig(container, "modelDataSource", "s3DataSource") or {}
        if source.get("s3Uri") is not None:
            yield f"{where}.modelDataSource", uploads.parse(source.get("s3Uri"), source.get("s3DataType") == "S3Prefix")


def _serving_artifacts(resources: list[StackResource], ctx: Ctx):
    uploads = Uploads(resources)
    for model in (r for r in resources if r.type == MODEL):
        for where, location in _model_artifacts(model, uploads):
            if uploads.missing(location):
                yield (
                    f"{where} {location} is in a bucket this stack creates, and nothing in the plan uploads it: "
                    "the endpoint fails on the first deploy; serve a registered model package "
                    "(primaryContainer.modelPackageName) or upload the artifact as a BucketObject",
                    model.urn,
                )


# ---- code that nothing uploads ---------------------------------------------------------------------


def _steps(steps) -> Iterator[dict]:
    for step in as_list(steps):
        if isinstance(step, dict):
            yield step
            args = step.get("Arguments") or {}
            yield from _steps(args.get("IfSteps"))
            yield from _steps(args.get("ElseSteps"))


def pipeline_code(definition) -> Iterator[tuple[str, str, bool]]:
    """(step, uri, is_prefix) of the code a SageMaker pipeline's steps download."""
    if is_unknown(definition) or not definition:
        return
    try:
        doc = json.loads(definition) if isinstance(definition, str) else definition
    except ValueError:
        return
    for step in _steps(doc.get("Steps")):
        args = step.get("Arguments") or {}
        for item in as_list(args.get("ProcessingInputs")):
            s3 = (item or {}).get("S3Input") or {}
            if (item or {}).get("InputName") == "code" or str(s3.get("LocalPath", "")).rstrip("/").endswith("/code"):
                if isinstance(s3.get("S3Uri"), str):
                    yield (
                        step.get("Name", "?"),
                        s3["S3Uri"],
                        s3.get("S3DataType") == "S3Prefix" and s3["S3Uri"].endswith("/"),
                    )
        for channel in as_list(args.get("InputDataConfig")):  # a training step's code channel
            s3 = dig(channel or {}, "DataSource", "S3DataSource") or {}
            if (channel or {}).get("ChannelName") == "code" and isinstance(s3.get("S3Uri"), str):
                yield (
                    step.get("Name", "?"),
                    s3["S3Uri"],
                    s3.get("S3DataType") == "S3Prefix" and s3["S3Uri"].endswith("/"),
                )
        submit = dig(args, "HyperParameters", "sagemaker_submit_directory")
        if isinstance(submit, str):
            yield step.get("Name", "?"), submit.strip('"'), False


def _code_uploads(resources: list[StackResource], ctx: Ctx):
    uploads = Uploads(resources)
    for r in resources:
        if r.type == PIPELINE:
            for step, uri, prefix in pipeline_code(r.props.get("pipelineDefinition")):
                location = uploads.parse(uri, prefix)
                if uploads.missing(location):
                    yield (
                        f"step {step!r} downloads its code from {location}, which nothing in the plan uploads: "
                        "the first pipeline run fails",
                        r.urn,
                    )
        elif r.type == FUNCTION:
            bucket, key = r.props.get("s3Bucket"), r.props.get("s3Key")
            if (
                isinstance(bucket, str)
                and isinstance(key, str)
                and uploads.missing(uploads.parse(f"s3://{bucket}/{key}"))
            ):
                yield f"function code s3://{bucket}/{key} is not uploaded by any resource in the plan", r.urn
            for name, value in sorted((dig(r.props, "environment", "variables") or {}).items()):
                if CODE_SETTING.search(name) and object_uri(value) and uploads.missing(uploads.parse(value)):
                    yield (f"environment variable {name} names {value}, which nothing in the plan uploads", r.urn)


# ---- identities used before their permissions are attached ------------------------------------------


def _role_of(permission: StackResource, role: StackResource) -> bool:
    name = role.props.get("name")
    for key in ("role", "roles"):
        if role.urn in permission.property_dependencies.get(key, []):
            return True
        if isinstance(name, str) and not is_unknown(name) and name in as_list(permission.props.get(key)):
            return True
    return False


def _uses(user: StackResource, role: StackResource) -> str | None:
    name = role.props.get("name")
    for key in ROLE_USE_KEYS:
        if role.urn in user.property_dependencies.get(key, []):
            return key
        value = user.props.get(key)
        if isinstance(name, str) and isinstance(value, str) and value.endswith(f":role/{name}"):
            return key
    return None


def _permissions_first(resources: list[StackResource], ctx: Ctx):
    graph = Graph(resources)
    roles = graph.of_type(ROLE)
    permissions = graph.of_type(*PERMISSION_TYPES)
    for user in resources:
        if user.type.startswith("aws:iam/"):
            continue
        for role in roles:
            key = _uses(user, role)
            if key is None:
                continue
            ancestors = graph.ancestors(user.urn)
            missing = [
                p
                for p in permissions
                if _role_of(p, role) and p.urn not in ancestors and user.urn not in graph.ancestors(p.urn)
            ]
            if missing:
                yield (
                    f"{key} uses role {short(role.urn)} but the resource does not wait for "
                    f"{', '.join(short(p.urn) for p in missing)}, which give the role its permissions: "
                    "it can start before they exist",
                    user.urn,
                )


RULES: list[Rule] = [
    Rule(
        "aws-stack-sagemaker-model-require-artifact",
        C,
        "deployability",
        "SageMaker models serve an artifact that exists: a registered model package, or an S3 object the "
        "plan uploads or that lives outside the stack's own (new, empty) buckets.",
        "Serve a registered model version (serving.model_version -> primaryContainer.modelPackageName); "
        "with no version, create no Model/EndpointConfig/Endpoint.",
        "critical",
        MODEL_DOC,
        stack_check=_serving_artifacts,
    ),
    Rule(
        "aws-stack-code-require-upload",
        C,
        "deployability",
        "Pipeline steps and functions run code that the plan uploads (S3 BucketObject) when it lives in a "
        "bucket the stack creates: processing code inputs, sagemaker_submit_directory, Lambda s3Key and "
        "code-naming environment variables (TEMPLATE, CODE, SCRIPT, PACKAGE, SOURCE, COMPONENT).",
        "Upload the code with aws.s3.BucketObjectv2 (infra/code_assets.py archives) and reference that "
        "object's bucket/key.",
        "high",
        CODE_DOC,
        stack_check=_code_uploads,
    ),
    Rule(
        "aws-stack-identities-require-permissions-first",
        C,
        "deployability",
        "A resource that runs as an IAM role (SageMaker model, pipeline, monitor, Lambda ...) waits for "
        "every RolePolicy/attachment that gives the role its permissions.",
        "Make the resource depend on the role's policies: pass depends_on=[role_policy] or take the role "
        "ARN from an Output that combines the role and its policy ids.",
        "high",
        IAM_DOC,
        stack_check=_permissions_first,
    ),
]
