"""Git side of `mlops diff`: the base commit, which stacks changed, a temporary worktree of the base."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Code whose change can change every stack's plan (cost and policy included).
CODE_PATHS = ("infra", "policies", "Pulumi.yaml", "__main__.py")


class DiffError(Exception):
    """A usage problem (not a git repository, unknown ref, unknown stack): one line each."""

    def __init__(self, lines: list[str] | str):
        self.lines = [lines] if isinstance(lines, str) else lines
        super().__init__("\n".join(self.lines))


def git(root: Path, *args: str, check: bool = True) -> str:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DiffError("mlops diff needs git on PATH") from None
    if check and done.returncode != 0:
        raise DiffError(f"git {' '.join(args)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done.stdout


def git_root(root: Path) -> Path:
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if done.returncode != 0:
        raise DiffError(f"{root}: not inside a git repository (mlops diff compares against a git ref)")
    return Path(done.stdout.strip()).resolve()


def resolve_commit(root: Path, ref: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise DiffError(
            f"BASE_REF {ref!r}: not a commit in {root} (fetch it first, e.g. "
            f"`git fetch origin {ref}`, or use origin/{ref})"
        )
    return done.stdout.strip()


def _is_stack_file(rel: str) -> bool:
    path = Path(rel)
    return (
        len(path.parts) == 2
        and path.parts[0] == "stacks"
        and path.name.startswith("Pulumi.")
        and path.suffix in (".yaml", ".yml")
    )


def _exists_at(root: Path, commit: str, rel: str) -> bool:
    return (
        subprocess.run(["git", "-C", str(root), "cat-file", "-e", f"{commit}:./{rel}"], capture_output=True).returncode
        == 0
    )


def changed_paths(root: Path, commit: str, paths: tuple[str, ...]) -> dict[str, str]:
    """{project-relative path: status} changed between `commit` and the working tree, untracked
    files included (status A, M, D or T; renames as a delete and an add)."""
    found: dict[str, str] = {}
    out = git(root, "diff", "--name-status", "--no-renames", "--relative", commit, "--", *paths)
    for line in out.splitlines():
        status, _, rel = line.partition("\t")
        found[rel] = status[:1]
    for rel in git(root, "ls-files", "--others", "--exclude-standard", "--", *paths).splitlines():
        found.setdefault(rel, "A")
    return found


@dataclass
class Selection:
    @dataclass
    class Stack:
        name: str
        status: str  # added | removed | modified | code | selected
        display: str  # stack file path as shown
        base_path: str | None  # project-relative path at base, None if absent there
        path: Path | None  # the working-tree file, None if deleted

    stacks: list[Stack] = field(default_factory=list)
    code_changed: list[str] = field(default_factory=list)
    note: str = ""


def select_stacks(root: Path, commit: str, refs: list[str] | None) -> Selection:
    """The given stacks, or every stack file changed since `commit`; every stack when code changed."""
    from infra import stackfile

    code = sorted(p for p in changed_paths(root, commit, CODE_PATHS) if "__pycache__" not in p)
    selection = Selection(code_changed=code)
    if refs:
        for ref in refs:
            path = stackfile.resolve(ref, root).resolve()
            rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else None
            base = rel if rel and _exists_at(root, commit, rel) else None
            if base is None and not path.is_file():
                raise DiffError(f"{ref}: no stack file {stackfile.display(path)} in the working tree or at base")
            status = "added" if base is None else "removed" if not path.is_file() else "selected"
            selection.stacks.append(
                Selection.Stack(
                    stackfile.stack_name_of(path), status, rel or str(path), base, path if path.is_file() else None
                )
            )
        selection.note = "stacks given on the command line"
        return selection
    at_base: list[str] = []
    stack_changes = {rel: s for rel, s in changed_paths(root, commit, ("stacks",)).items() if _is_stack_file(rel)}
    if code:
        at_base = [
            rel for rel in git(root, "ls-tree", "--name-only", commit, "stacks/").splitlines() if _is_stack_file(rel)
        ]
        now = [f"stacks/{p.name}" for p in stackfile.all_stack_paths(root)]
        for rel in sorted(set(at_base) | set(now)):
            stack_changes.setdefault(rel, "code")
        selection.note = (
            f"{len(code)} file(s) under {', '.join(CODE_PATHS)} changed: every stack is affected and planned"
        )
    else:
        selection.note = "stack files changed since base"
    for rel, status in sorted(stack_changes.items()):
        path = root / rel
        exists_now = path.is_file()
        at_base_too = status in ("M", "T", "D") or (status == "code" and rel in at_base)
        label = {"A": "added", "D": "removed", "code": "code"}.get(status, "modified")
        selection.stacks.append(
            Selection.Stack(
                stackfile.stack_name_of(path), label, rel, rel if at_base_too else None, path if exists_now else None
            )
        )
    return selection


@contextlib.contextmanager
def worktree(root: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of `commit`, removed afterwards (also on error). Yields the project root
    inside it (the project may live in a subdirectory of the repository)."""
    top = git_root(root)
    prefix = root.relative_to(top)
    tmp = Path(tempfile.mkdtemp(prefix="mlops-diff-"))
    tree = tmp / "base"
    git(root, "worktree", "add", "--detach", "--quiet", str(tree), commit)
    try:
        yield tree / prefix
    finally:
        git(root, "worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        git(root, "worktree", "prune", check=False)
