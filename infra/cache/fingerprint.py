"""What a plan and its report depend on, besides the stack file: the project's code and data
files, the installed distributions and the interpreter. Each is hashed once per process.

Code is hashed by content, not modification time: a fresh checkout (or a CI cache restored onto
one) gives every file a new mtime but the same bytes, and must hit.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from functools import lru_cache
from pathlib import Path

# Every top-level package whose files can change a plan or a report: the program and engine
# (`infra`, with its data files and the clouds' runtime folders), the policy pack, and the
# workload that stacks package and upload. Missing packages are skipped.
CODE_PACKAGES = ("infra", "policies", "mlops_workload")
_SKIPPED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def package_dir(name: str) -> Path | None:
    """The directory of a top-level package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def tree_digest(directory: Path) -> str:
    """The content hash of every file under `directory` (relative paths and bytes, sorted)."""
    digest = hashlib.blake2b(digest_size=20)
    for current, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            if name.endswith(_SKIPPED_SUFFIXES):
                continue
            path = Path(current, name)
            digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=1)
def code_digest() -> str:
    digest = hashlib.blake2b(digest_size=20)
    for name in CODE_PACKAGES:
        directory = package_dir(name)
        digest.update(f"{name}={tree_digest(directory) if directory else '-'}\n".encode())
    return digest.hexdigest()


def distribution_names(path_entries: list[str]) -> list[str]:
    """`<name>-<version>` of every installed distribution: the `.dist-info`/`.egg-info` directory
    names on the import path, which is where importlib.metadata finds them (reading each METADATA
    file instead costs ~100x more on a cold start)."""
    names: set[str] = set()
    for entry in path_entries:
        try:
            with os.scandir(entry or ".") as found:
                names.update(e.name for e in found if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return sorted(names)


@lru_cache(maxsize=1)
def environment_digest() -> str:
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{sys.implementation.name} {sys.version}\n".encode())
    for name in distribution_names(sys.path):
        digest.update(name.encode() + b"\n")
    return digest.hexdigest()
