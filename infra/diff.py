"""`mlops diff BASE_REF [STACK ...]`: what a change does to each stack, before anyone runs `pulumi up`.

Each changed stack is planned twice, offline: at BASE_REF (in a temporary `git worktree`, in a
subprocess running the base's own code, since both the code and the stack file may differ) and in
the working tree. The two plan documents are compared resource by resource (by URN): added, removed,
changed (with the changed input paths) and replaced. Replacement is predicted from
`infra/data/replace_on_change.yaml`, a conservative approximation of the providers' ForceNew schema
(a provider decides replacement; it cannot be asked offline). Replacing or deleting a resource that
holds data (or that is `protect`ed at base) is reported first, as data at risk. Renderers, the
replacement rules and the git/subprocess planning live in `infra/diffing/`.
"""

from __future__ import annotations

from pathlib import Path

from infra.diffing.compare import compare_documents, cost_of, violation_counts
from infra.diffing.git import DiffError, Selection, git_root, resolve_commit, select_stacks, worktree
from infra.diffing.model import DiffReport, PropertyChange, ResourceChange, StackDiff
from infra.diffing.planning import plan_documents
from infra.diffing.render import MARKER, render_diff_json, render_diff_markdown, render_diff_text

__all__ = [
    "MARKER",
    "DiffError",
    "DiffReport",
    "PropertyChange",
    "ResourceChange",
    "StackDiff",
    "diff",
    "diff_exit_code",
    "render_diff_json",
    "render_diff_markdown",
    "render_diff_text",
]


def diff(
    base_ref: str, stacks: list[str] | None = None, root: Path | None = None, in_process: bool | None = None
) -> DiffReport:
    """Plan the changed stacks (or `stacks`: names or paths) at `base_ref` and in the working tree of
    the project at `root` (default: the project holding the working directory) and compare them.

    `in_process`: plan the working tree in this process (default: when this process's `infra`
    package is the project's own code, else in a subprocess that imports the project's code).
    Raises DiffError (usage problems: not a git repository, unknown ref, unknown stack)."""
    from infra import stackfile

    root = (root or stackfile.project_root()).resolve()
    git_root(root)
    commit = resolve_commit(root, base_ref)
    selection = select_stacks(root, commit, stacks)
    at_base = [s.base_path for s in selection.stacks if s.base_path]
    now = [str(s.path) for s in selection.stacks if s.path]

    base_docs: dict[str, dict] = {}
    if at_base:
        with worktree(root, commit) as base_root:
            base_docs = plan_documents(base_root, [str(base_root / p) for p in at_base], subprocess=True)
            base_docs = {p: base_docs[str(base_root / p)] for p in at_base}
    if in_process is None:
        import infra

        in_process = Path(infra.__file__).resolve().parent.parent == root
    now_docs = plan_documents(root, now, subprocess=not in_process) if now else {}

    results = [
        _stack_diff(s, base_docs.get(s.base_path or ""), now_docs.get(str(s.path)) if s.path else None)
        for s in selection.stacks
    ]
    return DiffReport(base_ref, commit, results, selection.code_changed, selection.note)


def _stack_diff(stack: Selection.Stack, base: dict | None, now: dict | None) -> StackDiff:
    error = "; ".join(
        f"{where}: {r['error']}" for where, r in (("base", base), ("working tree", now)) if r and r.get("error")
    )
    base_doc = base["document"] if base else None
    now_doc = now["document"] if now else None
    either = now_doc or base_doc or {}
    result = StackDiff(
        stack.name, stack.display, stack.status, either.get("cloud"), either.get("environment"), error=error or None
    )
    if error:
        return result
    result.resources = compare_documents(base_doc, now_doc)
    result.cost_before, result.cost_after = cost_of(base_doc), cost_of(now_doc)
    result.mandatory_before, result.mandatory_after = violation_counts(base_doc), violation_counts(now_doc)
    return result


def diff_exit_code(report: DiffReport) -> int:
    """0 always (a diff is information), except 2 when a stack could not be planned."""
    return 2 if any(s.error for s in report.stacks) else 0
