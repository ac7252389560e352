"""The `mlops` command: validate, plan, check, diff, graph, new, schema, promote, rehearse, bootstrap.

Exit codes (README, "Commands"): 0 fine, 1 a mandatory policy violation, 2 invalid input or usage;
problems go to stderr, one line each, naming the file and the config path.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup

from infra import stackfile
from infra.stackfile import StackError

if TYPE_CHECKING:
    from infra.cache import PlanCache
    from infra.checker import StackReport
    from infra.engine import Plan

# Piped output is not cropped to 80 columns: plans and reports go to files and PR comments.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class OneLineErrors(TyperGroup):
    """Usage errors as one line on stderr (exit 2) instead of a framed box; Ctrl-C as one
    `interrupted` line (exit 130)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        # typer >= 0.29 carries its own click; its exceptions are not re-exported.
        from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as exc:
            exc.show()
            code = exc.exit_code
        except UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "mlops"
            err.print(f"usage: {exc.format_message()} (see `{where} --help`)", markup=False)
            code = exc.exit_code
        except ClickException as exc:
            err.print(f"mlops: {exc.format_message()}", markup=False)
            code = exc.exit_code
        except typer.Abort:  # end of input at a prompt
            code = 130
        if code == 130:  # typer turns KeyboardInterrupt into exit 130; nothing else exits 130
            err.print("interrupted")
        if not standalone_mode:
            return code
        sys.exit(code or 0)


app = typer.Typer(
    cls=OneLineErrors,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Plan, validate and check MLOps platform stacks on AWS, Azure and GCP.",
)

StackArgs = Annotated[
    list[str] | None, typer.Argument(help="Stack names (e.g. aws-dev) or paths to stack files.", show_default=False)
]
AllOption = Annotated[bool, typer.Option("--all", help="Every stack in stacks/.")]
JobsOption = Annotated[int, typer.Option("--jobs", "-j", min=0, help="Worker processes; 0 picks what pays off.")]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Plan afresh: neither read nor write .mlops/cache/.")]


@contextmanager
def stack_progress(total: int, verb: str) -> Iterator[Callable[[object], None]]:
    """A progress bar on stderr for multi-stack runs in a terminal; silent otherwise (CI, pipes)."""
    if total < 2 or not err.is_terminal:
        yield lambda _: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"{verb} stacks"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(verb, total=total)
        yield lambda _: progress.advance(task)


def fail(lines: list[str], code: int = 2) -> NoReturn:
    for line in lines:
        err.print(line, markup=False)
    raise typer.Exit(code)


def stack_refs(stacks: list[str] | None, all_stacks: bool) -> list[str]:
    if all_stacks and stacks:
        fail(["usage: give stack names or --all, not both"])
    if all_stacks:
        try:
            paths = stackfile.all_stack_paths()
        except StackError as exc:
            fail(exc.lines)
        if not paths:
            fail([f"{stackfile.display(stackfile.stacks_dir())}: no stack files (Pulumi.*.yaml) found"])
        return [str(p) for p in paths]
    if not stacks:
        fail(["usage: give at least one stack name or path, or --all"])
    return stacks


def load_all(refs: list[str]) -> list[stackfile.StackFile]:
    """Load every stack, reporting all problems of all files before exiting."""
    loaded, problems = [], []
    for ref in refs:
        try:
            loaded.append(stackfile.load(ref))
        except StackError as exc:
            problems.extend(exc.lines)
    if problems:
        fail(problems)
    return loaded


def plan_or_fail(
    stack: str, preview: bool = False, cache: PlanCache | None = None, with_report: bool = False
) -> tuple[Plan, StackReport | None]:
    """(plan, report if asked for) of one stack, from the cache or planned offline; or exit 2
    with the reason (invalid, cloud unavailable, failed)."""
    (loaded,) = load_all([stack])
    key = cache.key(loaded, preview=preview) if cache is not None else ""
    if cache is not None:
        plan = cache.plan(key)
        report = cache.report(key) if with_report and plan is not None else None
        if plan is not None and (report is not None or not with_report):
            return plan, report
    from infra.engine import PlanError, plan_stack
    from infra.program import CloudUnavailable

    try:
        plan = plan_stack(loaded, preview=preview)
    except CloudUnavailable as exc:
        fail([f"{stackfile.display(loaded.path)}: mlops:spec.cloud: {exc}"])
    except PlanError as exc:
        fail([str(exc)])
    report = None
    if with_report:
        from infra.checker import report_for

        report = report_for(plan, loaded.spec)
    if cache is not None:
        cache.save(key, plan, report)
    return plan, report


def open_cache(no_cache: bool) -> PlanCache | None:
    from infra.cache import PlanCache

    return PlanCache.for_project(enabled=not no_cache)


@app.command()
def validate(stacks: StackArgs = None, all_stacks: AllOption = False, no_cache: NoCacheOption = False) -> None:
    """Check stack files against the schema, and the budget against the plan's cost estimate
    (exit 2 with one line per problem)."""
    from infra.cost.budget import BudgetNotChecked, over_budget
    from infra.engine import PlanError

    loaded = load_all(stack_refs(stacks, all_stacks))
    cache = open_cache(no_cache)
    problems, notes = [], {}
    for stack in loaded:
        try:
            problem = over_budget(stack, cache)
        except BudgetNotChecked as exc:
            notes[stack.path] = f"; budget not checked: {exc}"
            continue
        except PlanError as exc:
            problem = str(exc)
        if problem:
            problems.append(problem)
    if problems:
        fail(problems)
    for stack in loaded:
        out.print(
            f"{stackfile.display(stack.path)}: ok ({stack.spec.cloud}, {stack.spec.environment}"
            f"{notes.get(stack.path, '')})",
            markup=False,
        )


@app.command()
def plan(
    stack: Annotated[str, typer.Argument(help="Stack name (e.g. aws-dev) or path to a stack file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan document (JSON).")] = False,
    preview: Annotated[bool, typer.Option("--preview", help="Leave provider-computed outputs unknown.")] = False,
    no_cache: NoCacheOption = False,
) -> None:
    """Show what `pulumi up` would create, offline: no Pulumi CLI, no credentials."""
    result, report = plan_or_fail(stack, preview, open_cache(no_cache), with_report=True)
    assert report is not None  # asked for
    if preview:  # the estimate does not depend on provider-computed values: price what will be deployed
        _, deployed = plan_or_fail(stack, False, open_cache(no_cache), with_report=True)
        assert deployed is not None
        report.cost = deployed.cost
    if as_json:
        print(json.dumps(result.document(report.cost, report.violations), indent=2))
    else:
        from infra.render import print_plan

        print_plan(result, out, report)


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"


@app.command()
def check(
    stacks: StackArgs = None,
    all_stacks: AllOption = False,
    output_format: Annotated[
        CheckFormat,
        typer.Option("--format", help="markdown is a PR comment; sarif (2.1.0) is for GitHub code scanning."),
    ] = CheckFormat.text,
    jobs: JobsOption = 0,
    no_cache: NoCacheOption = False,
) -> None:
    """Run the policy pack on offline plans; exit 1 on any mandatory violation."""
    from infra.checker import check_stacks, exit_code, render_json, render_markdown, render_text
    from infra.sarif import render_sarif

    loaded = load_all(stack_refs(stacks, all_stacks))
    with stack_progress(len(loaded), "checking") as advance:
        results = check_stacks(loaded, jobs=jobs, on_result=advance, cache=open_cache(no_cache))
    render = {
        CheckFormat.text: render_text,
        CheckFormat.json: render_json,
        CheckFormat.markdown: render_markdown,
        CheckFormat.sarif: render_sarif,
    }
    print(render[output_format](results))
    raise typer.Exit(exit_code(results))


@app.command()
def new(
    team: Annotated[str, typer.Option(help="Team name (lowercase, digits, single hyphens).")],
    cloud: Annotated[str, typer.Option(help="aws, azure or gcp.")],
    env: Annotated[str, typer.Option(help="dev, staging or prod.")],
    owner: Annotated[str, typer.Option(help="Owner e-mail (tags, alerts).")],
    cost_center: Annotated[str, typer.Option(help="Cost centre for the cost-center tag.")],
    from_stack: Annotated[str | None, typer.Option("--from", help="Start from another stack's spec.")] = None,
    region: Annotated[str | None, typer.Option(help="Region; defaults per cloud.")] = None,
    project_id: Annotated[str | None, typer.Option(help="GCP project id (gcp only).")] = None,
    billing_account: Annotated[str | None, typer.Option(help="GCP billing account (gcp only).")] = None,
    cosmos_db_object_id: Annotated[
        str | None, typer.Option(help="The tenant's Azure Cosmos DB service principal object id (azure staging/prod).")
    ] = None,
) -> None:
    """Scaffold stacks/Pulumi.<team>-<cloud>-<env>.yaml with the environment's defaults, commented."""
    from infra.scaffold import new_stack

    try:
        path = new_stack(
            team,
            cloud,
            env,
            from_stack,
            owner=owner,
            cost_center=cost_center,
            region=region,
            project_id=project_id,
            billing_account=billing_account,
            cosmos_db_object_id=cosmos_db_object_id,
        )
    except StackError as exc:
        fail(exc.lines)
    out.print(f"created {stackfile.display(path)}; next: mlops check {stackfile.stack_name_of(path)}", markup=False)


@app.command()
def schema() -> None:
    """Print the JSON Schema of a stack file (for editors and CI)."""
    from infra.jsonschema import stack_file_schema

    print(json.dumps(stack_file_schema(), indent=2))


@app.command()
def diff(
    base_ref: Annotated[str, typer.Argument(help="Git ref to compare with, e.g. origin/main.")],
    stacks: StackArgs = None,
    output_format: Annotated[Format, typer.Option("--format", help="markdown is a PR comment.")] = Format.text,
) -> None:
    """Plan changed stacks at BASE_REF and now: added, changed, replaced, removed, cost delta."""
    from infra.diff import DiffError, diff_exit_code, render_diff_json, render_diff_markdown, render_diff_text
    from infra.diff import diff as diff_stacks

    try:
        report = diff_stacks(base_ref, stacks or None)
    except DiffError as exc:
        fail(exc.lines)
    render = {Format.text: render_diff_text, Format.json: render_diff_json, Format.markdown: render_diff_markdown}
    print(render[output_format](report))
    raise typer.Exit(diff_exit_code(report))


class GraphFormat(str, Enum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"
    png = "png"


class GraphDetail(str, Enum):
    components = "components"
    resources = "resources"


@app.command()
def graph(
    stack: Annotated[str, typer.Argument(help="Stack name (e.g. aws-prod) or path to a stack file.")],
    output_format: Annotated[GraphFormat, typer.Option("--format")] = GraphFormat.mermaid,
    detail: Annotated[
        GraphDetail, typer.Option(help="components: one node each; resources: all.")
    ] = GraphDetail.components,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")] = None,
    no_cache: NoCacheOption = False,
) -> None:
    """The stack's architecture as a diagram (mermaid, dot, or svg/png through graphviz)."""
    from infra.graph import GraphError, render_graph

    plan, _ = plan_or_fail(stack, cache=open_cache(no_cache))
    try:
        rendered = render_graph(plan, output_format.value, detail.value)
    except GraphError as exc:
        fail([str(exc)])
    data = rendered.encode() if isinstance(rendered, str) else rendered
    if output is not None:
        output.write_bytes(data)
    elif isinstance(rendered, bytes) and sys.stdout.isatty():
        fail(["png is binary: write it with --output FILE.png"])
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


@app.command()
def promote(
    from_stack: Annotated[str, typer.Option("--from", help="Stack the version comes from (e.g. aws-staging).")],
    to_stack: Annotated[str, typer.Option("--to", help="Stack file to write it into (e.g. aws-prod).")],
    version: Annotated[
        str | None,
        typer.Option(
            "--version", help="The registered version to promote; default: the version the --from stack serves."
        ),
    ] = None,
    latest_approved: Annotated[
        bool,
        typer.Option(
            "--latest-approved", help="Ask the --from stack's registry for its newest approved version (AWS)."
        ),
    ] = False,
    approved_by: Annotated[str | None, typer.Option("--approved-by", help="Who approved it.")] = None,
    approved_at: Annotated[
        str | None, typer.Option("--approved-at", help="ISO date of the approval; today by default.")
    ] = None,
) -> None:
    """Write an approved model version into a stack file (a reviewed change; `pulumi up` rolls it out)."""
    from infra.promote import promote as run_promote

    if version and latest_approved:
        fail(["usage: give --version or --latest-approved, not both"])
    try:
        result = run_promote(
            from_stack,
            to_stack,
            version=version,
            latest_approved=latest_approved,
            approved_by=approved_by,
            approved_at=approved_at,
        )
    except StackError as exc:
        fail(exc.lines)
    record = result.record
    was = f" (was {result.previous})" if result.previous else " (was day 0: nothing served)"
    out.print(
        f"{stackfile.display(result.path)}: mlops:spec.serving.model_version = {record.ref}{was}, "
        f"from {record.promoted_from}, approved by {record.approved_by} on {record.approved_at}",
        markup=False,
    )
    out.print(
        f"next: mlops diff origin/main {stackfile.stack_name_of(result.path)}, then open the pull request", markup=False
    )


class RehearseFormat(str, Enum):
    text = "text"
    json = "json"


@app.command()
def rehearse(
    stack: Annotated[str, typer.Argument(help="Stack name (e.g. aws-dev) or path to a stack file.")],
    no_drift: Annotated[
        bool, typer.Option("--no-drift", help="Keep production data unshifted: expect no drift and no retraining.")
    ] = False,
    output_format: Annotated[RehearseFormat, typer.Option("--format")] = RehearseFormat.text,
) -> None:
    """Run the stack's ML lifecycle locally with its own runtime code and settings; exit 1 names the
    first stage that broke."""
    from infra.rehearse import RehearseError, exit_code, render_json, render_text
    from infra.rehearse import rehearse as run_rehearsal

    try:
        outcome = run_rehearsal(stack, drift=not no_drift)
    except RehearseError as exc:
        fail(exc.lines)
    print(render_json(outcome) if output_format is RehearseFormat.json else render_text(outcome))
    raise typer.Exit(exit_code(outcome))


bootstrap_app = typer.Typer(no_args_is_help=True, help="Create a cloud's Pulumi state backend (idempotent).")
app.add_typer(bootstrap_app, name="bootstrap")


@bootstrap_app.command("aws")
def bootstrap_aws(
    bucket: Annotated[str, typer.Option(help="State bucket name (globally unique).")],
    region: Annotated[str, typer.Option(help="Region of the bucket and key.")],
    key_alias: Annotated[str, typer.Option(help="KMS alias for stack secrets.")] = "alias/pulumi-state",
) -> None:
    """The S3 bucket and KMS key behind `pulumi login s3://...` and `--secrets-provider awskms://...`."""
    from infra.catalog import regions
    from infra.spec.model import _CLOUD_NAMES

    if region not in regions()["aws"]:  # before any credentials are looked for
        other = [cloud for cloud, names in regions().items() if region in names]
        why = f"; it is {_CLOUD_NAMES[other[0]]} region" if other else ""
        fail([f"bootstrap aws: --region {region!r} is not a supported AWS region{why}"])
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        from infra.aws.bootstrap import BootstrapError, bootstrap
    except ModuleNotFoundError as exc:
        fail([f"bootstrap aws needs {exc.name}: pip install 'mlops-platform[aws]'"])
    try:
        result = bootstrap(boto3.Session(region_name=region), bucket, region, key_alias=key_alias)
    except (BootstrapError, ValueError, ClientError, BotoCoreError) as exc:
        fail([f"bootstrap aws: {exc}"])
    for verb, items in (("created", result.created), ("updated", result.updated), ("in place", result.existed)):
        for item in items:
            out.print(f"{verb:>8}: {item}", markup=False)
    out.print(f"\npulumi login '{result.login_url}'", markup=False)
    out.print(f"pulumi stack init <stack> --secrets-provider '{result.secrets_provider}'", markup=False)


def main() -> None:
    # The provider SDKs create tens of thousands of classes on first use; with the default
    # thresholds the cyclic GC rescans that growing heap hundreds of times. Collecting less often
    # makes a cold `mlops check --all` ~25% faster for a few MiB more peak memory.
    gc.set_threshold(100_000, 50, 100)
    try:
        app()
    except SystemExit as exc:
        exit_without_teardown(exc.code)


def exit_without_teardown(code: object) -> NoReturn:
    """Exit once the output is flushed and atexit handlers ran, without tearing the interpreter
    down: freeing the provider SDKs' classes one by one at shutdown took ~0.6 s CPU of a cold
    `mlops check aws-dev`, more than planning the stack."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be written anyway
            pass
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)
