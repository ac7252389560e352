"""AWS IAM rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies import iam_documents as docs
from policies.aws._shared import IAM_DOC, ROLE, C
from policies.common import simple
from policies.core import Ctx, Rule, as_list, known

POLICY_TYPES = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", ROLE)
TRUSTED_SERVICES = frozenset(
    {
        "sagemaker.amazonaws.com",
        "lambda.amazonaws.com",
        "events.amazonaws.com",
        "scheduler.amazonaws.com",
        "states.amazonaws.com",
        "codebuild.amazonaws.com",
        "monitoring.rds.amazonaws.com",
        "edgelambda.amazonaws.com",
    }
)
_BROAD_MANAGED = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def _documents(props: Mapping[str, Any], ctx: Ctx) -> Iterable[tuple[str, Any]]:
    if ctx.type == ROLE:
        for i, inline in enumerate(as_list(props.get("inlinePolicies"))):
            if isinstance(inline, dict):
                yield f"inline policy {inline.get('name') or i}", inline.get("policy")
    else:
        yield "policy", props.get("policy")


def _doc_check(finder):
    def check(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
        for where, document in _documents(props, ctx):
            try:
                for problem in finder(document):
                    yield f"{where}: {problem}"
            except docs.DocumentError as exc:
                yield f"{where}: {exc}"

    return check


def _trust(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    try:
        statements = list(docs.statements(props.get("assumeRolePolicy")))
    except docs.DocumentError as exc:
        yield f"assumeRolePolicy: {exc}"
        return
    for st in statements:
        if st.effect != "Allow":
            continue
        for kind, value in docs.principals(st.principal):
            if kind == "*" or value == "*":
                yield f'trust policy {st.label} lets any principal ("*") assume the role'
            elif kind == "Service" and value not in TRUSTED_SERVICES:
                yield f"trust policy {st.label} trusts unexpected service {value!r}"
            elif kind == "AWS" and (value.endswith(":root") or value.isdigit()):
                yield (
                    f"trust policy {st.label} trusts a whole account ({value}); "
                    "name the role or user ARNs that may assume it"
                )
            elif kind == "Federated" and value.endswith(f":oidc-provider/{docs.GITHUB_OIDC_HOST}"):
                for problem in docs.github_trust_problems(st):
                    yield f"trust policy {problem}"
            elif kind == "Federated":
                yield f"trust policy {st.label} trusts federated principal {value!r}"


def _managed_arns(props: Mapping[str, Any], ctx: Ctx) -> list[str]:
    if ctx.type == ROLE:
        return [a for a in as_list(props.get("managedPolicyArns")) if known(a)]
    arn = props.get("policyArn")
    return [arn] if known(arn) else []


def _no_full_access(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    for arn in _managed_arns(props, ctx):
        name = str(arn).rsplit("/", 1)[-1]
        if ":aws:policy/" in str(arn) and (name.endswith("FullAccess") or name in _BROAD_MANAGED):
            yield f"AWS-managed policy {name} grants far more than the workload needs"


def _no_access_keys(props: Mapping[str, Any], ctx: Ctx) -> Iterable[str]:
    yield "long-lived IAM access keys are not allowed; use roles (OIDC or instance/service roles)"


RULES: list[Rule] = [
    simple(
        "aws-iam-policy-deny-wildcard-actions",
        C,
        "iam",
        'IAM policies allow no wildcard actions ("*", "service:*") and no Allow+NotAction.',
        "List the exact actions the workload calls (e.g. s3:GetObject, s3:PutObject).",
        POLICY_TYPES,
        _doc_check(docs.wildcard_action_problems),
        "critical",
        IAM_DOC,
    ),
    simple(
        "aws-iam-policy-deny-wildcard-resources",
        C,
        "iam",
        'IAM policies scope Allow statements to resource ARNs (Resource "*" only for actions '
        "that support nothing else) and use no Allow+NotResource.",
        'Scope statements to the stack\'s bucket/key/endpoint ARNs; keep Resource "*" only for '
        "actions such as ecr:GetAuthorizationToken or cloudwatch:PutMetricData.",
        POLICY_TYPES,
        _doc_check(docs.wildcard_resource_problems),
        "high",
        IAM_DOC,
    ),
    simple(
        "aws-iam-role-restrict-trust-principals",
        C,
        "iam",
        "Role trust policies trust only the expected AWS services, named role/user ARNs, or GitHub's "
        "OIDC provider pinned to the sts.amazonaws.com audience and exact repository subjects.",
        f"Trust only {', '.join(sorted(TRUSTED_SERVICES))}, specific role ARNs, or GitHub OIDC with "
        "StringEquals on token.actions.githubusercontent.com:aud and :sub (repo:<owner>/<name>:...).",
        (ROLE,),
        _trust,
        "critical",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html",
    ),
    simple(
        "aws-iam-role-deny-managed-full-access",
        C,
        "iam",
        "Workload roles attach no AWS-managed *FullAccess, AdministratorAccess or PowerUserAccess policy.",
        "Replace the managed policy with an inline policy scoped to the stack's resources.",
        (ROLE, "aws:iam/rolePolicyAttachment:RolePolicyAttachment"),
        _no_full_access,
        "high",
        IAM_DOC,
    ),
    simple(
        "aws-iam-accesskey-deny-creation",
        C,
        "iam",
        "No long-lived IAM user access keys.",
        "Use IAM roles (GitHub OIDC for CI, service roles for workloads).",
        ("aws:iam/accessKey:AccessKey",),
        _no_access_keys,
        "high",
        IAM_DOC,
    ),
]
