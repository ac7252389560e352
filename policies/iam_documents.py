"""Parsing AWS IAM policy documents in every shape the engine may send them.

A document is a JSON string or a dict; `Statement` a list or a single object; `Action`,
`NotAction`, `Resource`, `NotResource` a string or a list; `Principal` "*" or a mapping of
string-or-list. Values that are unknown (preview) are skipped by the callers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from policies.core import as_list, is_unknown

# Actions that only accept Resource "*" (AWS service authorization reference), which the
# architecture needs: pushing metrics, ECR login, SageMaker ENIs in a VPC, X-Ray.
RESOURCE_STAR_ACTIONS = frozenset({
    "cloudwatch:putmetricdata", "cloudwatch:getmetricdata", "cloudwatch:listmetrics",
    "ecr:getauthorizationtoken", "xray:puttracesegments", "xray:puttelemetryrecords",
    "sts:getcalleridentity", "logs:describeloggroups",
    "ec2:createnetworkinterface", "ec2:createnetworkinterfacepermission",
    "ec2:deletenetworkinterface", "ec2:deletenetworkinterfacepermission",
    "ec2:describenetworkinterfaces", "ec2:describevpcs", "ec2:describedhcpoptions",
    "ec2:describesubnets", "ec2:describesecuritygroups", "ec2:describevpcendpoints",
    "sagemaker:listtrainingjobs", "sagemaker:listendpoints", "sagemaker:listmodels",
    "sagemaker:listmodelpackagegroups", "sagemaker:search",
})


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
        strings = lambda key: [v for v in as_list(_get(raw, key)) if isinstance(v, str)]  # noqa: E731
        yield Statement(i, str(_get(raw, "Sid") or ""), str(_get(raw, "Effect") or "Allow"),
                        strings("Action"), strings("NotAction"), strings("Resource"),
                        strings("NotResource"), _get(raw, "Principal"), raw)


def is_wildcard_action(action: str) -> bool:
    """"*" or a whole service ("s3:*"); prefixes such as "s3:Get*" are allowed."""
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
            needs_star = [a for a in st.actions if a.lower() not in RESOURCE_STAR_ACTIONS]
            if needs_star or st.not_actions or not st.actions:
                problems.append(f"{st.label} allows Resource \"*\" for actions {needs_star or st.not_actions} "
                                "that can be scoped to resource ARNs")
    return problems


def principals(principal: Any) -> list[tuple[str, str]]:
    """(kind, value) pairs: ("*", "*"), ("Service", "sagemaker.amazonaws.com"), ("AWS", arn) ..."""
    if principal is None or is_unknown(principal):
        return []
    if principal == "*":
        return [("*", "*")]
    if isinstance(principal, dict):
        return [(kind, v) for kind, values in principal.items() for v in as_list(values)
                if isinstance(v, str) and not is_unknown(v)]
    return [("?", str(principal))]
