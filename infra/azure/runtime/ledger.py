"""The retraining function's Ledger on Azure Blob Storage (azure-storage-blob), in a container of
the function's own host account, with the function's identity.

`claims/<id>` blobs are created with If-None-Match: * (a second create fails with 409),
`cooldown/<experiment>` holds the last start and is replaced only If-Match its ETag (a concurrent
replacement fails with 412), so two instances cannot both start a run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

CONFLICT, PRECONDITION_FAILED, NOT_FOUND = 409, 412, 404


def _status(exc: Exception) -> int | None:
    """The HTTP status of an azure-core HttpResponseError (ResourceExistsError, ...)."""
    return getattr(exc, "status_code", None)


class BlobLedger:
    """Wraps an `azure.storage.blob.ContainerClient` (or anything with the same API);
    `if_not_modified` is `azure.core.MatchConditions.IfNotModified`."""

    def __init__(self, container: Any, if_not_modified: Any):
        self.container = container
        self.if_not_modified = if_not_modified

    @classmethod
    def from_environment(cls, blob_endpoint: str, container: str) -> BlobLedger:
        from azure.core import MatchConditions
        from azure.identity import ManagedIdentityCredential
        from azure.storage.blob import ContainerClient

        client = ContainerClient(blob_endpoint, container, credential=ManagedIdentityCredential())
        return cls(client, MatchConditions.IfNotModified)

    def claim(self, trigger_id: str) -> bool:
        try:
            self.container.upload_blob(f"claims/{trigger_id}", b"", overwrite=False)
        except Exception as exc:
            if _status(exc) == CONFLICT:
                return False
            raise
        return True

    def begin(self, experiment: str, now: dt.datetime, cooldown: dt.timedelta) -> dt.datetime | None:
        blob = self.container.get_blob_client(f"cooldown/{experiment}")
        try:
            download = blob.download_blob()
            last, etag = dt.datetime.fromisoformat(download.readall().decode()), download.properties.etag
        except Exception as exc:
            if _status(exc) != NOT_FOUND:
                raise
            last, etag = None, None
        if last is not None and now - last < cooldown:
            return last
        stamp = now.isoformat().encode()
        try:
            if etag is None:
                blob.upload_blob(stamp, overwrite=False)
            else:
                blob.upload_blob(stamp, overwrite=True, etag=etag, match_condition=self.if_not_modified)
        except Exception as exc:
            if _status(exc) in (CONFLICT, PRECONDITION_FAILED):
                return now  # another instance started a run this very moment
            raise
        return None
