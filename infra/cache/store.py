"""A directory of cache entries: versioned, checksummed, written atomically, bounded in size.

An entry is one file `<key>.<kind>`: a header line `mlops-cache <FORMAT> <key> <sha256 of body>`,
then the body (zlib-compressed JSON). A read trusts an entry only if the header names this format
and exactly the key asked for and the body matches its checksum; anything else (a truncated,
corrupt, renamed or older-format file) is a miss, and the next write replaces it.

Writes go to a temporary file in the same directory and are moved into place with `os.replace`,
so concurrent runs (CI matrix jobs, two terminals) never see half an entry. Reading an entry
touches it; past the size limit the least recently used entries are deleted first.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

FORMAT = 1
MAGIC = b"mlops-cache"
DEFAULT_LIMIT_MB = 512
LIMIT_ENV = "MLOPS_CACHE_MAX_MB"
_STALE_TEMP_SECONDS = 3600  # a temporary file this old belongs to a run that died mid-write


def size_limit() -> int:
    """The size limit in bytes: `$MLOPS_CACHE_MAX_MB` MiB, else DEFAULT_LIMIT_MB."""
    try:
        return max(0, int(float(os.environ.get(LIMIT_ENV, DEFAULT_LIMIT_MB)) * 1024 * 1024))
    except ValueError:
        return DEFAULT_LIMIT_MB * 1024 * 1024


class Store:
    def __init__(self, directory: Path, limit_bytes: int | None = None):
        self.directory = directory
        self.limit_bytes = size_limit() if limit_bytes is None else limit_bytes

    def path(self, key: str, kind: str) -> Path:
        return self.directory / f"{key}.{kind}"

    def read(self, key: str, kind: str) -> Any | None:
        """The value stored under (key, kind), or None when absent or not trustworthy."""
        path = self.path(key, kind)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        header, _, body = data.partition(b"\n")
        if header != _header(key, body):
            return None
        try:
            value = json.loads(zlib.decompress(body))
        except (zlib.error, ValueError):
            return None
        try:
            os.utime(path)  # least recently *used*, not written
        except OSError:
            pass
        return value

    def write(self, key: str, kind: str, value: Any) -> None:
        """Store `value` (JSON-able) atomically; a cache that cannot be written is skipped."""
        body = zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 1)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(_header(key, body) + b"\n" + body)
                os.replace(temp, self.path(key, kind))
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError:
            return
        self.evict()

    def evict(self) -> None:
        """Delete least recently used entries until the directory fits the size limit."""
        entries, now = [], time.time()
        try:
            scanned = list(os.scandir(self.directory))
        except OSError:
            return
        for entry in scanned:
            try:
                stat = entry.stat()
            except OSError:
                continue
            if entry.name.startswith(".tmp-"):
                if now - stat.st_mtime > _STALE_TEMP_SECONDS:
                    Path(entry.path).unlink(missing_ok=True)
                continue
            if entry.is_file():
                entries.append((stat.st_mtime_ns, entry.name, stat.st_size, entry.path))
        total = sum(size for _, _, size, _ in entries)
        for _, _, size, path in sorted(entries):
            if total <= self.limit_bytes:
                break
            Path(path).unlink(missing_ok=True)
            total -= size


def _header(key: str, body: bytes) -> bytes:
    return b"%s %d %s %s" % (MAGIC, FORMAT, key.encode(), hashlib.sha256(body).hexdigest().encode())
