"""Azure ML online deployment scoring script (packaged as score.py).

init() runs once per replica, run() per request
(https://learn.microsoft.com/azure/machine-learning/how-to-deploy-online-endpoints). Inputs and
outputs are logged with the Azure ML data collector (azureml-ai-monitoring) as the collections
`model_inputs` and `model_outputs`, which the deployment's data_collector writes to blob storage
(https://learn.microsoft.com/azure/machine-learning/how-to-collect-production-data).
Requests: {"instances": [[...], ...]} or {"instances": [{"<feature>": value}, ...]}.
"""

import json
import os

import joblib
import numpy as np

MODEL = None
FEATURES = None
COLLECTORS = None


def _find(root, name):
    for directory, _, files in os.walk(root):
        if name in files:
            return os.path.join(directory, name)
    raise FileNotFoundError(f"{name} not found under {root}")


def init():
    global MODEL, FEATURES, COLLECTORS
    root = os.environ.get("AZUREML_MODEL_DIR", ".")
    MODEL = joblib.load(_find(root, "model.joblib"))
    with open(_find(root, "baseline.json"), encoding="utf-8") as handle:
        FEATURES = json.load(handle)["feature_order"]
    try:
        from azureml.ai.monitoring import Collector

        COLLECTORS = (Collector(name="model_inputs"), Collector(name="model_outputs"))
    except ImportError:  # local runs without the collector package still score
        COLLECTORS = None


def run(raw_data):
    document = json.loads(raw_data)
    instances = document["instances"] if isinstance(document, dict) else document
    rows = [[i.get(name) for name in FEATURES] if isinstance(i, dict) else list(i) for i in instances]
    predictions = MODEL.predict_proba(np.array(rows, dtype=object))[:, 1].tolist()
    if COLLECTORS is not None:
        import pandas as pd

        inputs, outputs = COLLECTORS
        context = inputs.collect(pd.DataFrame(rows, columns=FEATURES))
        outputs.collect(pd.DataFrame({"prediction": predictions}), context)
    return {"predictions": predictions}
