"""The training pipeline's one step, run by Vertex AI Pipelines in the scikit-learn training image.

It runs the workload's own command line (`python -m <package> train --out ... --targets vertex`),
copies the Vertex serving layout (model.joblib, baseline.json, metrics.json) next to each other
under gs://<artifacts>/models/<model>/<run>/, and registers it as a new version of the Vertex
model (models.upload with parentModel; the first run creates the model) whose metadata names its
baseline and metrics. Retraining never changes what is served: `mlops promote` does.
Stdlib only (urllib + the metadata server's token); the bucket paths are the /gcs/ mounts Vertex
gives every pipeline task (Cloud Storage FUSE).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

TOKEN_URL = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"
SERVING_IMAGE = "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest"
VERTEX_FILES = ("model.joblib", "baseline.json", "metrics.json")

Http = Callable[[str, str, dict | None], tuple[int, dict]]


def http(method: str, url: str, body: dict | None) -> tuple[int, dict]:  # pragma: no cover - needs GCP
    token = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(TOKEN_URL, headers={"Metadata-Flavor": "Google"}), timeout=10
        ).read()
    )["access_token"]
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def gcs_path(uri: str) -> Path:
    """gs://bucket/path -> /gcs/bucket/path (the task's Cloud Storage FUSE mount)."""
    return Path("/gcs") / uri.removeprefix("gs://")


def training_csv(data_uri: str) -> Path | None:
    """The CSV a run trains on: `data_uri` itself, or the newest CSV under it (a folder such as
    gs://<data>/ingest/, partitioned by date); None (synthetic data) when empty or nothing is there."""
    if not data_uri:
        return None
    path = gcs_path(data_uri)
    if path.is_file():
        return path
    found = sorted(path.rglob("*.csv")) if path.is_dir() else []
    return found[-1] if found else None


def publish(package_dir: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for name in VERTEX_FILES:
        shutil.copyfile(package_dir / name, destination / name)


def upload_request(
    model: str, artifact_uri: str, metrics: dict, labels: dict, parent_exists: bool, kms_key: str = ""
) -> dict:
    """models.upload body: a new version of `model` (or the model itself on the first run)."""
    body: dict = {
        "model": {
            "displayName": model.rsplit("/", 1)[-1],
            "artifactUri": artifact_uri,
            "containerSpec": {"imageUri": SERVING_IMAGE},
            "metadata": {"baseline_uri": f"{artifact_uri}/baseline.json", "metrics": metrics},
            "labels": labels,
        }
    }
    if kms_key:
        body["model"]["encryptionSpec"] = {"kmsKeyName": kms_key}
    if parent_exists:
        body["parentModel"] = model
    else:
        body["modelId"] = model.rsplit("/", 1)[-1]
    return body


def register(
    model: str, region: str, artifact_uri: str, metrics: dict, labels: dict, send: Http, kms_key: str = ""
) -> dict:
    base = f"https://{region}-aiplatform.googleapis.com/v1"
    status, _ = send("GET", f"{base}/{model}", None)
    if status not in (200, 404):
        raise RuntimeError(f"models.get {model}: HTTP {status}")
    parent = model.rsplit("/models/", 1)[0]
    status, operation = send(
        "POST",
        f"{base}/{parent}/models:upload",
        upload_request(model, artifact_uri, metrics, labels, status == 200, kms_key),
    )
    if status != 200:
        raise RuntimeError(f"models.upload: HTTP {status}: {operation}")
    return operation


def main(argv: list[str] | None = None, send: Http = http, run: Callable = subprocess.run) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", required=True)
    parser.add_argument("--model", required=True, help="projects/<p>/locations/<r>/models/<model id>")
    parser.add_argument("--region", required=True)
    parser.add_argument("--artifacts", required=True, help="gs://<artifacts bucket>/models/<model>")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--labels", default="{}")
    parser.add_argument("--kms-key", default="")
    parser.add_argument("--data-uri", default="")
    parser.add_argument("--out", type=Path, default=Path("/tmp/out"))
    args = parser.parse_args(argv)
    command = [sys.executable, "-m", args.package, "train", "--out", str(args.out), "--targets", "vertex"]
    data = training_csv(args.data_uri)
    if data is not None:
        command += ["--data", str(data)]
    result = run(command, check=False)
    if result.returncode != 0:  # 1: the quality gate refused the model; nothing is registered
        return result.returncode
    artifact_uri = f"{args.artifacts.rstrip('/')}/{args.run_id}"
    package_dir = args.out / "packages" / "vertex"
    publish(package_dir, gcs_path(artifact_uri))
    metrics = json.loads((package_dir / "metrics.json").read_text())
    operation = register(args.model, args.region, artifact_uri, metrics, json.loads(args.labels), send, args.kms_key)
    print(json.dumps({"registered": args.model, "artifact_uri": artifact_uri, "operation": operation.get("name")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
