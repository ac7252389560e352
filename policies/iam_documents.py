"""Parsing AWS IAM policy documents in every shape the engine may send them.

A document is a JSON string or a dict; `Statement` a list or a single object; `Action`,
`NotAction`, `Resource`, `NotResource` a string or a list; `Principal` "*" or a mapping of
string-or-list. Values that are unknown (preview) are skipped by the callers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from policies.core import as_list, is_unknown

# Actions that only accept Resource "*" (AWS service authorization reference), which the
# architecture needs: pushing metrics, ECR login, SageMaker ENIs in a VPC, X-Ray.
RESOURCE_STAR_ACTIONS = frozenset(
    {
        "cloudwatch:putmetricdata",
        "cloudwatch:getmetricdata",
        "cloudwatch:listmetrics",
        "ecr:getauthorizationtoken",
        "xray:puttracesegments",
        "xray:puttelemetryrecords",
        "sts:getcalleridentity",
        "logs:describeloggroups",
        "ec2:createnetworkinterface",
        "ec2:createnetworkinterfacepermission",
        "ec2:deletenetworkinterface",
        "ec2:deletenetworkinterfacepermission",
        "ec2:describenetworkinterfaces",
        "ec2:describevpcs",
        "ec2:describedhcpoptions",
        "ec2:describesubnets",
        "ec2:describesecuritygroups",
        "ec2:describevpcendpoints",
        "sagemaker:listtrainingjobs",
        "sagemaker:listendpoints",
        "sagemaker:listmodels",
        "sagemaker:listmodelpackagegroups",
        "sagemaker:search",
        # Read-only calls a CI preview/deploy identity makes on refresh (no resource-level permissions).
        "kms:listaliases",
        "ec2:describevpcattribute",
        "ec2:describeroutetables",
        "ec2:describesecuritygrouprules",
        "ec2:describeprefixlists",
        "ec2:describeavailabilityzones",
        "application-autoscaling:describescalabletargets",
        "application-autoscaling:describescalingpolicies",
        # Creating a flow log that publishes to S3 (VPC user guide: Resource "*", no resource types).
        "logs:createlogdelivery",
        "logs:deletelogdelivery",
        "ec2:describeflowlogs",
    }
)
# Create calls without a resource ARN to scope to: acceptable with Resource "*" only when the
# statement requires the request to carry a tag (aws:RequestTag/<key>), which scopes what is created.
REQUEST_TAG_STAR_ACTIONS = frozenset({"kms:createkey", "kms:tagresource"})


def _request_tag_scoped(raw: dict[str, Any]) -> bool:
    condition = raw.get("Condition") or raw.get("condition") or {}
    return isinstance(condition, dict) and any(
        isinstance(block, dict) and any(str(k).lower().startswith("aws:requesttag/") for k in block)
        for op, block in condition.items()
        if op in ("StringEquals", "StringLike", "ForAllValues:StringEquals")
    )


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str
    effect: str
    actions: list[str]
    not_actions: list[str]
    resources: list[str]
    not_resources: list[str]
    principal: Any
    raw: dict[str, Any]

    @property
    def label(self) -> str:
        return f"statement {self.sid!r}" if self.sid else f"statement {self.index}"


class DocumentError(ValueError):
    pass


def parse(document: Any) -> dict[str, Any] | None:
    """The document as a dict; None when unknown; DocumentError when it is not a policy."""
    if document is None or is_unknown(document):
        return None
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"policy document is not valid JSON ({exc.msg})") from None
    if not isinstance(document, dict):
        raise DocumentError("policy document must be a JSON object")
    return document


def _get(raw: dict[str, Any], key: str) -> Any:
    # A dict sent without camelCase conversion keeps its own casing; accept both.
    return raw.get(key, raw.get(key[0].lower() + key[1:]))


def statements(document: Any) -> Iterator[Statement]:
    doc = parse(document)
    if doc is None:
        return
    for i, raw in enumerate(as_list(_get(doc, "Statement"))):
        if not isinstance(raw, dict):
            continue
        strings = lambda key, raw=raw: [v for v in as_list(_get(raw, key)) if isinstance(v, str)]  # noqa: E731
        yield Statement(
            i,
            str(_get(raw, "Sid") or ""),
            str(_get(raw, "Effect") or "Allow"),
            strings("Action"),
            strings("NotAction"),
            strings("Resource"),
            strings("NotResource"),
            _get(raw, "Principal"),
            raw,
        )


def is_wildcard_action(action: str) -> bool:
    """ "*" or a whole service ("s3:*"); prefixes such as "s3:Get*" are allowed."""
    return action == "*" or action.endswith(":*")


def wildcard_action_problems(document: Any) -> list[str]:
    problems = []
    for st in statements(document):
        if st.effect != "Allow":
            continue
        if st.not_actions:
            problems.append(f"{st.label} allows NotAction {st.not_actions}: that grants every other action")
        bad = [a for a in st.actions if not is_unknown(a) and is_wildcard_action(a)]
        if bad:
            problems.append(f"{st.label} allows wildcard actions {bad}")
    return problems


def wildcard_resource_problems(document: Any) -> list[str]:
    problems = []
    for st in statements(document):
        if st.effect != "Allow":
            continue
        if st.not_resources:
            problems.append(f"{st.label} allows NotResource {st.not_resources}: that grants every other resource")
        if "*" in st.resources:
            allowed = RESOURCE_STAR_ACTIONS | (REQUEST_TAG_STAR_ACTIONS if _request_tag_scoped(st.raw) else frozenset())
            needs_star = [a for a in st.actions if a.lower() not in allowed]
            if needs_star or st.not_actions or not st.actions:
                problems.append(
                    f'{st.label} allows Resource "*" for actions {needs_star or st.not_actions} '
                    "that can be scoped to resource ARNs"
                )
    return problems


def principals(principal: Any) -> list[tuple[str, str]]:
    """(kind, value) pairs: ("*", "*"), ("Service", "sagemaker.amazonaws.com"), ("AWS", arn) ..."""
    if principal is None or is_unknown(principal):
        return []
    if principal == "*":
        return [("*", "*")]
    if isinstance(principal, dict):
        return [
            (kind, v)
            for kind, values in principal.items()
            for v in as_list(values)
            if isinstance(v, str) and not is_unknown(v)
        ]
    return [("?", str(principal))]


GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
_GITHUB_SUBJECT = re.compile(
    r"^repo:[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+:"
    r"(pull_request|ref:refs/heads/[A-Za-z0-9._/-]+|environment:[A-Za-z0-9._-]+)$"
)


def github_subject_problems(subjects: list[str]) -> list[str]:
    """Problems with GitHub OIDC `sub` values: each must name one repository and one exact context."""
    if not subjects:
        return ["no subject condition: any repository on GitHub could assume it"]
    return [
        f"subject {s!r} is not an exact repo:<owner>/<name>:<pull_request|ref:refs/heads/..|environment:..>"
        for s in subjects
        if not isinstance(s, str) or not _GITHUB_SUBJECT.match(s)
    ]


def github_trust_problems(st: Statement) -> list[str]:
    """A Federated trust on GitHub's OIDC provider must pin the audience and exact subjects."""
    problems = []
    actions = [a.lower() for a in st.actions]
    if actions != ["sts:assumerolewithwebidentity"]:
        problems.append(f"{st.label} must allow only sts:AssumeRoleWithWebIdentity (got {st.actions})")
    condition = _get(st.raw, "Condition") or {}
    equals = condition.get("StringEquals") or {} if isinstance(condition, dict) else {}
    if any(op not in ("StringEquals",) for op in (condition if isinstance(condition, dict) else {})):
        problems.append(f"{st.label} uses {sorted(condition)}: match the token claims with StringEquals only")
    audience = as_list(equals.get(f"{GITHUB_OIDC_HOST}:aud"))
    if audience != ["sts.amazonaws.com"]:
        problems.append(f"{st.label} must require {GITHUB_OIDC_HOST}:aud = sts.amazonaws.com (got {audience})")
    problems += [f"{st.label}: {p}" for p in github_subject_problems(as_list(equals.get(f"{GITHUB_OIDC_HOST}:sub")))]
    return problems
