"""The SageMaker pipeline's training step (runs in the scikit-learn training container).

`python -m pipeline_step train ...` gathers the data window's CSV files from the `train` channel,
runs the workload's own command line (`python -m <package> train --data <csv> --out <dir>`, the
contract of every workload package), and leaves in /opt/ml/model what the scikit-learn serving
container loads (SageMaker archives that folder as the model.tar.gz the pipeline registers). The
version's metrics and drift baseline are also written next to the run (`--report-uri`), where the
register step attaches them as ModelMetrics and DriftCheckBaselines.

Data layout: `s3://<raw>/ingest/` holds CSV files; files under a `dt=YYYY-MM-DD/` folder belong to
that day and only the days inside the window are used; when no day falls in the window, every
file is used (on a fresh account that is the seed data set the stack uploads). Exit codes: 0 done,
1 the quality gate rejected the model (the pipeline fails and nothing is registered), 2 bad input.
Depends on the stdlib and boto3 (present in SageMaker's framework containers) only, and keeps to
Python 3.8 (the scikit-learn 1.2-1 container's interpreter).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from datetime import date
from pathlib import Path

PARTITION = re.compile(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})(?:/|$)")
REPORT_FILES = ("baseline.json", "metrics.json")


def _day(text: str) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def window_files(data_dir: Path, start: str = "", end: str = "") -> list[Path]:
    """The CSV files of the window (see module docstring), sorted."""
    files = sorted(p for p in data_dir.rglob("*.csv") if p.is_file())
    first, last = _day(start), _day(end)
    dated = []
    for path in files:
        match = PARTITION.search(path.relative_to(data_dir).as_posix())
        if match:
            day = date.fromisoformat(match.group(1))
            if (first is None or day >= first) and (last is None or day <= last):
                dated.append(path)
    return dated or files


def merge_csv(files: list[Path], out: Path) -> Path:
    """One CSV with the union of the files' rows (the first file's header decides the columns)."""
    if not files:
        raise FileNotFoundError("no CSV files in the training channel")
    with out.open("w", newline="", encoding="utf-8") as target:
        writer = None
        for path in files:
            with path.open(newline="", encoding="utf-8") as source:
                reader = csv.DictReader(source)
                if writer is None:
                    writer = csv.DictWriter(target, fieldnames=reader.fieldnames or [], extrasaction="ignore")
                    writer.writeheader()
                writer.writerows(reader)
    return out


def model_folder(workload_out: Path, model_dir: Path) -> None:
    """The serving layout in `model_dir`: the workload's SageMaker package when it made one,
    otherwise its model/ folder as is (a team workload then ships its own code/inference.py)."""
    package = workload_out / "packages" / "sagemaker" / "model.tar.gz"
    model_dir.mkdir(parents=True, exist_ok=True)
    if package.is_file():
        with tarfile.open(package) as archive:
            members = archive.getmembers()
            unsafe = [
                m.name
                for m in members
                if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in Path(m.name).parts
            ]
            if unsafe:
                raise ValueError(f"{package}: unsafe members {unsafe}")
            archive.extractall(model_dir, members=members)  # noqa: S202 (members checked above)
    else:
        shutil.copytree(workload_out / "model", model_dir, dirs_exist_ok=True)


def upload_reports(model_dir: Path, report_uri: str, s3=None) -> list[str]:
    if not report_uri.startswith("s3://"):
        raise ValueError(f"--report-uri must be an s3:// URI, got {report_uri!r}")
    bucket, _, prefix = report_uri[len("s3://") :].partition("/")
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    keys = []
    for name in REPORT_FILES:
        key = f"{prefix.rstrip('/')}/{name}"
        s3.upload_file(str(model_dir / name), bucket, key)
        keys.append(f"s3://{bucket}/{key}")
    return keys


def train(args: argparse.Namespace, s3=None) -> int:
    with tempfile.TemporaryDirectory() as work:
        data = merge_csv(window_files(args.data_dir, args.window_start, args.window_end), Path(work) / "data.csv")
        out = Path(work) / "out"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                args.package,
                "train",
                "--data",
                str(data),
                "--out",
                str(out),
                "--min-auc",
                args.min_auc,
            ],
            check=False,
        )
        if done.returncode != 0:
            return done.returncode
        model_folder(out, args.model_dir)
    if args.report_uri:
        upload_reports(args.model_dir, args.report_uri, s3)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline_step")
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("train")
    fit.add_argument("--data-dir", type=Path, default=Path("/opt/ml/input/data/train"))
    fit.add_argument("--model-dir", type=Path, default=Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model")))
    fit.add_argument("--package", default=os.environ.get("WORKLOAD_PACKAGE", "mlops_workload"))
    fit.add_argument("--window-start", default="")
    fit.add_argument("--window-end", default="")
    fit.add_argument("--min-auc", default="0.7")
    fit.add_argument("--report-uri", default="", help="s3://bucket/prefix for baseline.json and metrics.json")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return train(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
