"""GCP deployability rules: what makes a first `pulumi up` fail although the preview passes."""

from __future__ import annotations

import re
from collections.abc import Iterator

from policies.core import Ctx, Rule, StackResource, as_list, dig, is_unknown
from policies.gcp._shared import C
from policies.graph import Graph, short, walk
from policies.objects import CODE_SETTING, Uploads, object_uri

SERVICE = "gcp:projects/service:Service"
SERVICE_IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
ACCOUNT = "gcp:serviceaccount/account:Account"
METRIC = "gcp:logging/metric:Metric"
ALERT = "gcp:monitoring/alertPolicy:AlertPolicy"
FUNCTIONS = ("gcp:cloudfunctionsv2/function:Function", "gcp:cloudfunctions/function:Function")
# Resources that hold an update for a while: pulumiverse-time Sleep, a polling command, a dynamic wait.
WAITS = ("time:index/sleep:Sleep", "command:local:Command", "pulumi-python:dynamic:Resource")
_IAM = re.compile(r"^gcp:[a-zA-Z0-9]+/[a-zA-Z0-9]+:[A-Za-z]*I[Aa][Mm](Member|Binding)$")
_AGENT = re.compile(r"^serviceAccount:service-\d+@([a-z0-9-]+)\.iam\.gserviceaccount\.com$")
# Google-managed service agents that are not named gcp-sa-<api>.
_AGENT_APIS = {
    "gs-project-accounts": "storage.googleapis.com",
    "container-engine-robot": "container.googleapis.com",
    "compute-system": "compute.googleapis.com",
    "dataflow-service-producer-prod": "dataflow.googleapis.com",
}
_USER_METRIC = re.compile(r"logging\.googleapis\.com/user/([A-Za-z0-9_.\-/]+)")
# Keys at which an input names the service account a resource runs as.
SA_KEYS = ("serviceAccount", "serviceAccountEmail", "email")
_ACCOUNT_URN = re.compile(r"[:$]gcp:serviceaccount/account:Account::")

AGENTS_DOC = "https://cloud.google.com/iam/docs/service-agents"
IDENTITY_DOC = "https://www.pulumi.com/registry/packages/gcp/api-docs/projects/serviceidentity/"
METRIC_DOC = "https://github.com/hashicorp/terraform-provider-google/issues/11102"
IAM_DOC = "https://cloud.google.com/iam/docs/access-change-propagation"
CODE_DOC = "https://cloud.google.com/functions/docs/reference/rest/v2/projects.locations.functions#StorageSource"


def agent_api(member) -> tuple[str, str] | None:
    """(agent domain, API) of a Google-managed service agent member, else None."""
    m = _AGENT.match(member) if isinstance(member, str) else None
    if not m:
        return None
    domain = m.group(1)
    if domain.startswith("gcp-sa-"):
        return domain, domain[len("gcp-sa-") :].split("-")[0] + ".googleapis.com"
    api = _AGENT_APIS.get(domain)
    return (domain, api) if api else None


def _members(r: StackResource) -> list:
    return [*as_list(r.props.get("member")), *as_list(r.props.get("members"))]


def _grants(resources: list[StackResource]) -> Iterator[tuple[StackResource, str, str, str]]:
    for r in resources:
        if _IAM.match(r.type):
            for member in _members(r):
                found = agent_api(member)
                if found:
                    yield r, member, *found


def _agent_api_first(resources: list[StackResource], ctx: Ctx):
    graph = Graph(resources)
    services = {s.props.get("service"): s for s in graph.of_type(SERVICE)}
    for grant, _member, domain, api in _grants(resources):
        service = services.get(api)
        if service is not None and not graph.waits_for(grant, service):
            yield (
                f"grant of {grant.props.get('role')} to the {domain} service agent does not wait for "
                f"{short(service.urn)} (enables {api}): on a fresh project the agent does not exist yet",
                grant.urn,
            )


def _agent_identity_first(resources: list[StackResource], ctx: Ctx):
    graph = Graph(resources)
    identities = graph.of_type(SERVICE_IDENTITY)
    for grant, member, domain, api in _grants(resources):
        if not domain.startswith("gcp-sa-"):
            continue  # agents created with their API (GKE, Compute) or by their own lookup (Cloud Storage)
        ancestors = graph.ancestors(grant.urn)
        if not any(i.urn in ancestors and i.props.get("service") == api for i in identities):
            yield (
                f"grant of {grant.props.get('role')} to {member.split(':', 1)[1]} does not wait for a "
                f"gcp.projects.ServiceIdentity of {api}: the agent exists only once generated",
                grant.urn,
            )


# ---- alerts on log-based metrics created in the same update ----------------------------------------


def _metric_alerts_wait(resources: list[StackResource], ctx: Ctx):
    graph = Graph(resources)
    metrics = {m.props.get("name"): m for m in graph.of_type(METRIC) if isinstance(m.props.get("name"), str)}
    metric_urns = {m.urn for m in graph.of_type(METRIC)}
    waits = graph.of_type(*WAITS)
    for alert in graph.of_type(ALERT):
        used = {metrics[n].urn for n in _metric_names(alert) if n in metrics}
        used |= metric_urns & set(alert.property_dependencies.get("conditions", []))
        ancestors = graph.ancestors(alert.urn)
        for urn in sorted(used):
            if not any(w.urn in ancestors and urn in graph.ancestors(w.urn) for w in waits):
                yield (
                    f"alert policy uses log-based metric {short(urn)} created in the same update with nothing "
                    "waiting in between: the Monitoring API answers 404 for up to 10 minutes",
                    alert.urn,
                )


def _metric_names(alert: StackResource) -> set[str]:
    names: set[str] = set()
    for condition in as_list(alert.props.get("conditions")):
        for path, value in walk(condition):
            if isinstance(value, str) and path and path[-1] in ("filter", "query", "denominatorFilter"):
                names.update(_USER_METRIC.findall(value))
    return names


# ---- code that nothing uploads ---------------------------------------------------------------------


def _function_sources(r: StackResource) -> Iterator[tuple[str, str]]:
    source = dig(r.props, "buildConfig", "source", "storageSource") or {}
    if isinstance(source.get("bucket"), str) and isinstance(source.get("object"), str):
        yield "buildConfig.source", f"gs://{source['bucket']}/{source['object']}"
    if isinstance(r.props.get("sourceArchiveBucket"), str) and isinstance(r.props.get("sourceArchiveObject"), str):
        yield "sourceArchiveObject", f"gs://{r.props['sourceArchiveBucket']}/{r.props['sourceArchiveObject']}"
    env = {
        **(dig(r.props, "serviceConfig", "environmentVariables") or {}),
        **(r.props.get("environmentVariables") or {}),
    }
    for name, value in sorted(env.items()):
        if CODE_SETTING.search(name) and object_uri(value):
            yield f"environment variable {name}", value


def _code_uploads(resources: list[StackResource], ctx: Ctx):
    uploads = Uploads(resources)
    for r in resources:
        if r.type in FUNCTIONS:
            for where, uri in _function_sources(r):
                if uploads.missing(uploads.parse(uri)):
                    yield (f"{where} names {uri}, which nothing in the plan uploads (gcp.storage.BucketObject)", r.urn)


# ---- identities used before their permissions are granted ------------------------------------------


def _email(account: StackResource) -> str | None:
    """The account's e-mail: <accountId>@<project>.iam.gserviceaccount.com (None if unknown)."""
    account_id, project = account.props.get("accountId"), account.props.get("project")
    if all(isinstance(v, str) and not is_unknown(v) for v in (account_id, project)):
        return f"{account_id}@{project}.iam.gserviceaccount.com"
    return None


def _grants_to(grant: StackResource, account: StackResource, email: str | None) -> bool:
    for key in ("member", "members"):
        for member in as_list(grant.props.get(key)):
            if email and isinstance(member, str) and member == f"serviceAccount:{email}":
                return True
            if is_unknown(member) and account.urn in grant.property_dependencies.get(key, []):
                return True
    return False


def _runs_as(user: StackResource, account: StackResource, email: str | None) -> bool:
    for path, value in walk(user.props):
        if not path or path[-1] not in SA_KEYS:
            continue
        if email and isinstance(value, str) and not is_unknown(value) and value.split("/")[-1] == email:
            return True
        if is_unknown(value):
            # Unknown in preview: attribute it only when the input takes exactly one service account.
            deps = user.property_dependencies.get(str(path[0]), [])
            if account.urn in deps and sum(1 for u in deps if _ACCOUNT_URN.search(u)) == 1:
                return True
    return False


def _permissions_first(resources: list[StackResource], ctx: Ctx):
    graph = Graph(resources)
    accounts = [(a, _email(a)) for a in graph.of_type(ACCOUNT)]
    grants = [g for g in resources if _IAM.match(g.type)]
    for user in resources:
        if _IAM.match(user.type) or user.type == ACCOUNT:
            continue
        for account, email in accounts:
            if not _runs_as(user, account, email):
                continue
            ancestors = graph.ancestors(user.urn)
            missing = [
                g
                for g in grants
                if _grants_to(g, account, email) and g.urn not in ancestors and user.urn not in graph.ancestors(g.urn)
            ]
            if missing:
                yield (
                    f"runs as service account {short(account.urn)} but does not wait for its grants "
                    f"{', '.join(short(g.urn) for g in missing)}: it can start before the roles are granted",
                    user.urn,
                )


RULES: list[Rule] = [
    Rule(
        "gcp-stack-code-require-upload",
        C,
        "deployability",
        "Cloud Functions build from sources the plan uploads (gcp.storage.BucketObject) when they live in a "
        "bucket the stack creates, and so does code a function submits (environment variables naming "
        "TEMPLATE, CODE, SCRIPT, PACKAGE, SOURCE or COMPONENT objects, e.g. a pipeline template).",
        "Upload the code or compiled pipeline spec as a gcp.storage.BucketObject (infra/code_assets.py) and "
        "reference that object.",
        "high",
        CODE_DOC,
        stack_check=_code_uploads,
    ),
    Rule(
        "gcp-stack-identities-require-permissions-first",
        C,
        "deployability",
        "A resource that runs as a service account (function build and runtime, node pool, notebook) waits "
        "for the IAM grants to that account that do not depend on the resource itself.",
        "Pass depends_on=[grants] to the resource (IAM changes also take minutes to propagate).",
        "high",
        IAM_DOC,
        stack_check=_permissions_first,
    ),
    Rule(
        "gcp-stack-service-agent-grants-require-api",
        C,
        "deployability",
        "A grant to a Google-managed service agent waits for the project Service that enables the agent's API.",
        "Pass depends_on=[the gcp.projects.Service of that API] to the grant (or to the agent lookup it takes "
        "its member from).",
        "high",
        AGENTS_DOC,
        stack_check=_agent_api_first,
    ),
    Rule(
        "gcp-stack-service-agent-grants-require-identity",
        C,
        "deployability",
        "A grant to a per-service agent (service-<number>@gcp-sa-<api>...) waits for a gcp.projects.ServiceIdentity "
        "of that API, which creates the agent (the Cloud Storage agent comes from "
        "gcp.storage.get_project_service_account instead).",
        "Create gcp.projects.ServiceIdentity(service=<api>) and take the grant's member from its `member` output.",
        "high",
        IDENTITY_DOC,
        stack_check=_agent_identity_first,
    ),
    Rule(
        "gcp-stack-log-metric-alerts-require-wait",
        C,
        "deployability",
        "An alert policy on a log-based metric created in the same update waits for a wait resource "
        "(e.g. pulumiverse-time Sleep) that itself waits for the metric.",
        "Insert a time.Sleep (create_duration of a few minutes, up to 10) that depends on the metric and make "
        "the alert policy depend on it.",
        "high",
        METRIC_DOC,
        stack_check=_metric_alerts_wait,
    ),
]
