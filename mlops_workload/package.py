"""The trained model in each cloud's serving-container layout.

- SageMaker scikit-learn container: `model.tar.gz` holding model.joblib, baseline.json,
  metrics.json and code/inference.py; the model (or model package) sets SAGEMAKER_ENVIRONMENT.
- Azure ML online deployment: a folder `model/` (model.joblib, baseline.json, metrics.json) to
  register as the model version, and `code/score.py` as the deployment's scoring script.
- Vertex AI prebuilt scikit-learn container: an artifact directory whose model file is named
  exactly `model.joblib` (https://cloud.google.com/vertex-ai/docs/training/exporting-model-artifacts),
  with baseline.json beside it.
Archives are deterministic (sorted members, fixed times and modes): the same model gives the
same bytes, so content-addressed uploads do not churn.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path

from mlops_workload.baseline import BASELINE_FILE
from mlops_workload.train import MODEL_FILE

METRICS_FILE = "metrics.json"
SERVING = Path(__file__).resolve().parent / "serving"
CLOUDS = ("sagemaker", "azureml", "vertex")
# Environment of the SageMaker model / model package container: where the container finds the
# entry point inside the extracted model.tar.gz (/opt/ml/model).
SAGEMAKER_ENVIRONMENT = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
AZUREML_SCORING_SCRIPT = "score.py"


def _model_files(model_dir: Path) -> dict[str, Path]:
    files = {name: model_dir / name for name in (MODEL_FILE, BASELINE_FILE, METRICS_FILE)}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"{model_dir}: missing {', '.join(missing)}")
    return files


def deterministic_tar_gz(members: dict[str, Path], out: Path) -> Path:
    """A .tar.gz of `members` (archive name -> file) that depends only on names and contents."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            data = members[name].read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o644, 0, 0
            tar.addfile(info, io.BytesIO(data))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(buffer.getvalue())
    return out


def sagemaker(model_dir: Path, out_dir: Path) -> Path:
    members = dict(_model_files(model_dir))
    members["code/inference.py"] = SERVING / "sagemaker_inference.py"
    return deterministic_tar_gz(members, out_dir / "model.tar.gz")


def azureml(model_dir: Path, out_dir: Path) -> Path:
    for name, path in _model_files(model_dir).items():
        (out_dir / "model").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out_dir / "model" / name)
    (out_dir / "code").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SERVING / "azureml_score.py", out_dir / "code" / AZUREML_SCORING_SCRIPT)
    return out_dir


def vertex(model_dir: Path, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, path in _model_files(model_dir).items():
        shutil.copyfile(path, out_dir / name)
    return out_dir


PACKAGERS = {"sagemaker": sagemaker, "azureml": azureml, "vertex": vertex}


def package(cloud: str, model_dir: Path, out_dir: Path) -> Path:
    if cloud not in PACKAGERS:
        raise ValueError(f"unknown serving target {cloud!r}; expected one of {', '.join(CLOUDS)}")
    return PACKAGERS[cloud](model_dir, out_dir)
