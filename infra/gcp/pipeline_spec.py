"""The compiled Vertex AI pipeline the retraining function submits (KFP pipeline IR, schema 2.1.0).

One container task in the Vertex AI scikit-learn training image: it unpacks the stack's code bundle
(the workload package + `pipeline_runtime/train_and_register.py`, uploaded by the stack to the
releases bucket under a content-addressed key) from the task's /gcs mount and runs the step, which
trains, writes the model and its baseline under gs://<artifacts>/models/<model>/<run>/ and
registers a new Vertex model version. The spec is plain data built here (no kfp dependency) and
uploaded next to the code, so a code change yields a new spec that names the new bundle.
`training.size_class` sets the task's CPU and memory (Vertex picks the machine that fits).
"""

from __future__ import annotations

import json

from infra import catalog

SCHEMA_VERSION = "2.1.0"
TRAINING_IMAGE = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-3:latest"
TASK = "train-and-register"
# Unpack the bundle from the /gcs mount and run the step from it (stdlib only).
BOOTSTRAP = (
    "import runpy, sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall('/tmp/code'); "
    "sys.path.insert(0, '/tmp/code'); sys.argv = sys.argv[1:]; "
    "runpy.run_path('/tmp/code/train_and_register.py', run_name='__main__')"
)


def resources(size_class: str) -> dict:
    spec = catalog.catalog()["classes"][size_class]
    return {"cpuLimit": float(spec["vcpus"]), "memoryLimit": float(spec["memory_gib"])}


def pipeline_spec(
    *,
    name: str,
    bundle_uri: str,
    package: str,
    model: str,
    region: str,
    artifacts_uri: str,
    size_class: str,
    labels: dict[str, str],
    kms_key: str = "",
) -> dict:
    """`bundle_uri` and `artifacts_uri` are gs:// URIs; `model` is the Vertex model resource name."""
    args = [
        f"/gcs/{bundle_uri.removeprefix('gs://')}",
        "--package",
        package,
        "--model",
        model,
        "--region",
        region,
        "--artifacts",
        artifacts_uri,
        "--run-id",
        "{{$.pipeline_job_uuid}}",
        "--labels",
        json.dumps(labels, sort_keys=True),
        "--data-uri",
        "{{$.inputs.parameters['training_data_uri']}}",
    ]
    if kms_key:
        args += ["--kms-key", kms_key]
    component = f"comp-{TASK}"
    executor = f"exec-{TASK}"
    return {
        "schemaVersion": SCHEMA_VERSION,
        "sdkVersion": "mlops-platform",
        "pipelineInfo": {"name": name},
        "root": {
            # The run's data: the retraining function passes the ingested data location; empty trains
            # the reference workload on its synthetic data.
            "inputDefinitions": {
                "parameters": {"training_data_uri": {"parameterType": "STRING", "defaultValue": "", "isOptional": True}}
            },
            "dag": {
                "tasks": {
                    TASK: {
                        "taskInfo": {"name": TASK},
                        "componentRef": {"name": component},
                        "inputs": {
                            "parameters": {"training_data_uri": {"componentInputParameter": "training_data_uri"}}
                        },
                    }
                }
            },
        },
        "components": {
            component: {
                "executorLabel": executor,
                "inputDefinitions": {"parameters": {"training_data_uri": {"parameterType": "STRING"}}},
            }
        },
        "deploymentSpec": {
            "executors": {
                executor: {
                    "container": {
                        "image": TRAINING_IMAGE,
                        "command": ["python3", "-c", BOOTSTRAP],
                        "args": args,
                        "resources": resources(size_class),
                    }
                }
            }
        },
    }
