"""Creating a file that must not exist yet, atomically: all of it or nothing, never an overwrite."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from infra import stackfile
from infra.stackfile import StackError


def exists_message(shown: str) -> str:
    return f"{shown}: already exists; edit it or choose another team/environment"


def write_new(path: Path, text: str) -> None:
    """Create `path` with `text` atomically, refusing (StackError) if it exists: nothing half-written."""
    shown = stackfile.display(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        try:
            os.link(tmp, path)  # atomic, and fails if the name exists (O_EXCL semantics)
        except FileExistsError:
            raise StackError([exists_message(shown)]) from None
        except OSError:  # a filesystem without hard links: exclusive create, removed again on failure
            _write_exclusive(path, text, shown)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _write_exclusive(path: Path, text: str, shown: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise StackError([exists_message(shown)]) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
