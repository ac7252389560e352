"""Readers and writers of the capture formats the clouds really produce (stdlib only).

Each writer produces exactly what the managed service writes, so tests and `mlops rehearse` feed
the drift check the same bytes production does; each reader turns those bytes back into feature
records ({"<feature>": value}) for `mlops_workload.drift.check`. Readers skip lines they cannot
parse and count them instead of failing: one bad line must not abort a drift check.

- SageMaker real-time endpoint data capture: JSON Lines, one inference per line,
  {"captureData": {"endpointInput": {...}, "endpointOutput": {...}}, "eventMetadata": {...},
  "eventVersion": "0"}, under s3://<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html
- Azure ML data collector: JSON Lines (CloudEvents-like) per collection under
  azureml://datastores/workspaceblobstore/paths/modelDataCollector/<endpoint>/<deployment>/
  <collection>/yyyy/MM/dd/HH/<instance id>.jsonl; `data` holds the logged DataFrame as records.
  https://learn.microsoft.com/azure/machine-learning/how-to-collect-production-data
- Vertex AI request-response logging: rows of a BigQuery table (default
  logging_<endpoint display name>_<endpoint id>.request_response_logging) with the columns
  endpoint, deployed_model_id, logging_time, request_id, request_payload, response_payload
  (payload columns are REPEATED STRING, one JSON value per instance / prediction).
  https://cloud.google.com/vertex-ai/docs/predictions/online-prediction-logging
"""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

Record = dict[str, object]


@dataclass
class Capture:
    """What a reader recovered: feature records, predictions, and lines it had to skip."""

    records: list[Record] = field(default_factory=list)
    predictions: list[object] = field(default_factory=list)
    skipped: int = 0


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row(values: Sequence[object] | Mapping[str, object], feature_order: Sequence[str]) -> Record:
    if isinstance(values, Mapping):
        return {name: values.get(name) for name in feature_order}
    return {name: (values[i] if i < len(values) else None) for i, name in enumerate(feature_order)}


def _cell(text: str) -> object:
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _lines(source: str | bytes | Iterable[str]) -> Iterable[str]:
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, str):
        source = source.splitlines()
    return (line for line in source if line.strip())


# --- SageMaker -------------------------------------------------------------------------------

SAGEMAKER_EVENT_VERSION = "0"


def sagemaker_key(prefix: str, endpoint: str, variant: str, when: datetime, name: str | None = None) -> str:
    """The S3 key SageMaker writes a capture file under (hour-partitioned, UTC)."""
    when = when.astimezone(timezone.utc)
    name = name or f"{when:%M-%S}-{when.microsecond // 1000:03d}-{uuid.uuid4()}"
    return f"{prefix.strip('/')}/{endpoint}/{variant}/{when:%Y/%m/%d/%H}/{name}.jsonl"


def sagemaker_line(
    record: Mapping[str, object],
    prediction: object,
    feature_order: Sequence[str],
    *,
    when: datetime,
    event_id: str | None = None,
    inference_id: str | None = None,
) -> str:
    """One captured CSV inference, as the endpoint's data capture writes it."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(
        ["" if record.get(n) is None else record.get(n) for n in feature_order]
    )
    metadata: dict[str, str] = {"eventId": event_id or str(uuid.uuid4()), "inferenceTime": _iso(when)}
    if inference_id:
        metadata["inferenceId"] = inference_id
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": buffer.getvalue(),
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "application/json",
                    "mode": "OUTPUT",
                    "data": json.dumps({"predictions": [prediction]}),
                    "encoding": "JSON",
                },
            },
            "eventMetadata": metadata,
            "eventVersion": SAGEMAKER_EVENT_VERSION,
        },
        separators=(",", ":"),
    )


def _sagemaker_payload(part: Mapping) -> tuple[str, str]:
    data, encoding = part.get("data", ""), str(part.get("encoding", "")).upper()
    content_type = str(part.get("observedContentType", ""))
    if encoding == "BASE64":
        data = base64.b64decode(data).decode("utf-8")
        encoding = "JSON" if "json" in content_type else "CSV" if "csv" in content_type else encoding
    return str(data), encoding


def _instances(document: object) -> list:
    if isinstance(document, Mapping):
        for key in ("instances", "inputs", "data"):
            if key in document:
                return list(document[key])
        return [document]
    return list(document) if isinstance(document, list) else []


def _predictions(data: str, encoding: str) -> list:
    if encoding != "JSON":
        return [_cell(c) for c in data.strip().split(",") if c]
    document = json.loads(data)
    if isinstance(document, Mapping):
        return list(document.get("predictions", []))
    return document if isinstance(document, list) else [document]


def read_sagemaker(source: str | bytes | Iterable[str], feature_order: Sequence[str]) -> Capture:
    capture = Capture()
    for line in _lines(source):
        try:
            event = json.loads(line)
            data, encoding = _sagemaker_payload(event["captureData"]["endpointInput"])
            if encoding == "CSV":
                rows = [[_cell(c) for c in row] for row in csv.reader(io.StringIO(data)) if row]
            elif encoding == "JSON":
                rows = _instances(json.loads(data))
            else:
                raise ValueError(f"unsupported encoding {encoding}")
            output = event["captureData"].get("endpointOutput")
            if output:
                capture.predictions.extend(_predictions(*_sagemaker_payload(output)))
        except (ValueError, KeyError, TypeError, AttributeError):
            capture.skipped += 1
            continue
        capture.records.extend(_row(r, feature_order) for r in rows)
    return capture


# --- Azure ML data collector ------------------------------------------------------------------

AZURE_COLLECTIONS = ("model_inputs", "model_outputs")
AZURE_AGENT = "azureml-ai-monitoring/1.0.0"


def azure_blob_path(
    endpoint: str, deployment: str, collection: str, when: datetime, instance_id: str | None = None
) -> str:
    """Path under the workspace blob datastore (rolling_rate Hour)."""
    when = when.astimezone(timezone.utc)
    return (
        f"modelDataCollector/{endpoint}/{deployment}/{collection}/{when:%Y/%m/%d/%H}/"
        f"{instance_id or uuid.uuid4()}.jsonl"
    )


def azure_line(
    collection: str,
    records: Sequence[Mapping[str, object]],
    *,
    source: str,
    when: datetime,
    correlation_id: str,
    model_version: str = "default",
) -> str:
    """One collected DataFrame, as the data collector writes it (`data` = DataFrame records)."""
    if collection not in AZURE_COLLECTIONS:
        raise ValueError(f"collection must be one of {AZURE_COLLECTIONS}")
    data = [dict(r) for r in records]
    body = json.dumps(data, separators=(",", ":"))
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": f"azureml.inference.{collection}",
            "datacontenttype": "application/json",
            "time": _iso(when),
            "data": data,
            "correlationid": correlation_id,
            "xrequestid": correlation_id,
            "modelversion": model_version,
            "collectdatatype": "pandas.core.frame.DataFrame",
            "agent": AZURE_AGENT,
            "contentrange": f"bytes 0-{len(body) - 1}/{len(body)}",
        },
        separators=(",", ":"),
    )


def azure_source(subscription: str, resource_group: str, workspace: str, endpoint: str, deployment: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/"
        f"Microsoft.MachineLearningServices/workspaces/{workspace}/onlineEndpoints/{endpoint}"
        f"/deployments/{deployment}"
    )


def read_azure(
    source: str | bytes | Iterable[str], feature_order: Sequence[str], collection: str = "model_inputs"
) -> Capture:
    """Records of the `model_inputs` collection (or predictions of `model_outputs`)."""
    capture = Capture()
    # The documented sample line says "azureml.inference.inputs" for the model_inputs collection;
    # accept that and the collection's own name.
    wanted = {f"azureml.inference.{collection}", f"azureml.inference.{collection.removeprefix('model_')}"}
    for line in _lines(source):
        try:
            event = json.loads(line)
            if event.get("type") not in wanted:
                continue
            if str(event.get("datainblob", "")).lower() == "true":
                raise ValueError("payload stored out of line")  # > 256 KB: a blob URL, not records
            data = event["data"]
            rows = data if isinstance(data, list) else [data]
        except (ValueError, KeyError, TypeError, AttributeError):
            capture.skipped += 1
            continue
        if collection == "model_inputs":
            capture.records.extend(_row(r, feature_order) for r in rows if isinstance(r, (Mapping, list)))
        else:
            capture.predictions.extend(r.get("prediction") if isinstance(r, Mapping) else r for r in rows)
    return capture


# --- Vertex AI request-response logging -------------------------------------------------------

VERTEX_COLUMNS = ("endpoint", "deployed_model_id", "logging_time", "request_id", "request_payload", "response_payload")


def vertex_row(
    records: Sequence[Mapping[str, object]],
    predictions: Sequence[object],
    feature_order: Sequence[str],
    *,
    endpoint: str,
    deployed_model_id: str,
    when: datetime,
    request_id: int,
) -> dict:
    """One logged request as a row of the BigQuery table (instances as lists in feature order,
    which is what the prebuilt scikit-learn container receives)."""
    return {
        "endpoint": endpoint,
        "deployed_model_id": deployed_model_id,
        "logging_time": when.astimezone(timezone.utc).isoformat(),
        "request_id": request_id,
        "request_payload": [json.dumps([r.get(n) for n in feature_order]) for r in records],
        "response_payload": [json.dumps(p) for p in predictions],
    }


def read_vertex(rows: Iterable[Mapping[str, object]] | str | bytes, feature_order: Sequence[str]) -> Capture:
    """Records from table rows (BigQuery client rows, or a NEWLINE_DELIMITED_JSON export)."""
    capture = Capture()
    if isinstance(rows, (str, bytes)):
        parsed: list[Mapping] = []
        for line in _lines(rows):
            try:
                parsed.append(json.loads(line))
            except ValueError:
                capture.skipped += 1
        rows = parsed
    for row in rows:
        try:
            payload = row["request_payload"]
            if not isinstance(payload, Iterable):
                raise TypeError(f"request_payload is not a list: {payload!r}")
            items = [json.loads(p) if isinstance(p, str) else p for p in payload]
            instances: list = []
            for item in items:  # one instance per element, or a whole {"instances": [...]} body
                instances.extend(_instances(item) if isinstance(item, Mapping) and "instances" in item else [item])
            responses = row.get("response_payload") or []
            if not isinstance(responses, Iterable):
                raise TypeError(f"response_payload is not a list: {responses!r}")
            capture.predictions.extend(json.loads(p) if isinstance(p, str) else p for p in responses)
        except (ValueError, KeyError, TypeError):
            capture.skipped += 1
            continue
        capture.records.extend(_row(i, feature_order) for i in instances if isinstance(i, (Mapping, list)))
    return capture
