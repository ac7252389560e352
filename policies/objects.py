"""Objects a plan uploads, and references to objects, for the deployability rules.

A reference is missing when it points into a bucket/container that the same plan creates (so it is
empty on the first `pulumi up`) and no object resource in the plan writes that key. References into
storage the plan does not create are storage the spec names as existing: not checked. Unknown
names (preview) make a check skip instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from policies.core import StackResource, is_unknown

AWS_BUCKET = "aws:s3/bucket:Bucket"
AWS_OBJECTS = ("aws:s3/bucketObject:BucketObject", "aws:s3/bucketObjectv2:BucketObjectv2")
GCP_BUCKET = "gcp:storage/bucket:Bucket"
GCP_OBJECT = "gcp:storage/bucketObject:BucketObject"
AZ = "azure-native:"
AZURE_CONTAINER = AZ + "storage:BlobContainer"
AZURE_BLOB = AZ + "storage:Blob"
AZURE_DATASTORE = AZ + "machinelearningservices:Datastore"

# Environment variables / app settings whose value names code a function runs or submits.
CODE_SETTING = re.compile(r"TEMPLATE|CODE|SCRIPT|PACKAGE|SOURCE|COMPONENT", re.IGNORECASE)
_URI = re.compile(r"^(s3|gs)://([^/]+)/(.*)$")
_BLOB_URL = re.compile(r"^https://([a-z0-9]+)\.blob\.core\.windows\.net/([^/?]+)/?([^?]*)")
_AZUREML_PATH = re.compile(r"^azureml://datastores/([^/]+)/paths/(.*)$")


@dataclass(frozen=True)
class Location:
    """An object (or, with prefix=True, everything under a key prefix) in a bucket/container."""

    store: str
    key: str
    prefix: bool = False
    uri: str = ""

    def __str__(self) -> str:
        return self.uri or f"{self.store}/{self.key}"


def _s(value) -> str | None:
    return value if isinstance(value, str) and not is_unknown(value) else None


class Uploads:
    """The buckets/containers a plan creates and the objects it writes into them."""

    def __init__(self, resources: Iterable[StackResource]):
        resources = list(resources)
        self.stores: set[str] = set()
        self.objects: set[tuple[str, str]] = set()
        self.unknown = False  # some store or object location is only known after deploy
        self.datastores: dict[str, str] = {}
        for r in resources:
            p = r.props
            if r.type in (AWS_BUCKET, GCP_BUCKET):
                self._store(_s(p.get("bucket") if r.type == AWS_BUCKET else p.get("name")))
            elif r.type == AZURE_CONTAINER:
                self._store(self._az(p.get("accountName"), p.get("containerName")))
            elif r.type in AWS_OBJECTS:
                self._object(_s(p.get("bucket")), _s(p.get("key")))
            elif r.type == GCP_OBJECT:
                self._object(_s(p.get("bucket")), _s(p.get("name")))
            elif r.type == AZURE_BLOB:
                self._object(self._az(p.get("accountName"), p.get("containerName")), _s(p.get("blobName")))
            elif r.type == AZURE_DATASTORE:
                props = p.get("properties") or {}
                store = self._az(props.get("accountName"), props.get("containerName"))
                if _s(p.get("name")) and store:
                    self.datastores[p["name"]] = store

    @staticmethod
    def _az(account, container) -> str | None:
        account, container = _s(account), _s(container)
        return f"{account}/{container}" if account and container else None

    def _store(self, name: str | None) -> None:
        if name is None:
            self.unknown = True
        else:
            self.stores.add(name)

    def _object(self, store: str | None, key: str | None) -> None:
        if store is None or key is None:
            self.unknown = True
        else:
            self.objects.add((store, key.lstrip("/")))

    def missing(self, location: Location | None) -> bool:
        """True if the plan creates `location`'s store but writes nothing there."""
        if location is None or location.store not in self.stores or self.unknown:
            return False
        key = location.key.lstrip("/")
        if location.prefix or key.endswith("/") or not key:
            return not any(s == location.store and k.startswith(key) for s, k in self.objects)
        return (location.store, key) not in self.objects

    # ---- parsing references ---------------------------------------------------------------------

    def parse(self, uri, prefix: bool = False) -> Location | None:
        """s3://, gs://, https://<account>.blob.core.windows.net/... or azureml://datastores/... ."""
        uri = _s(uri)
        if not uri:
            return None
        if m := _URI.match(uri):
            return Location(m.group(2), m.group(3), prefix, uri)
        if m := _BLOB_URL.match(uri):
            return Location(f"{m.group(1)}/{m.group(2)}", m.group(3), prefix or not m.group(3), uri)
        if m := _AZUREML_PATH.match(uri):
            store = self.datastores.get(m.group(1))
            return Location(store, m.group(2), True, uri) if store else None
        return None


def object_uri(value) -> bool:
    """A value that names one object (not a prefix): s3/gs/blob URL with a key not ending in '/'."""
    text = _s(value)
    return bool(text and (_URI.match(text) or _BLOB_URL.match(text)) and not text.endswith("/"))
