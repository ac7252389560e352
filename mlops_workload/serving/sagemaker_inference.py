"""SageMaker scikit-learn container entry point (packaged as code/inference.py in model.tar.gz).

The container loads this module when the model sets SAGEMAKER_PROGRAM=inference.py and
SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code, and calls model_fn / input_fn / predict_fn /
output_fn (https://sagemaker.readthedocs.io/en/stable/frameworks/sklearn/using_sklearn.html
#deploy-a-scikit-learn-model). Only numpy, scikit-learn and joblib are needed here.
Requests: text/csv rows in feature order (no header), or application/json
{"instances": [[...], ...]} / {"instances": [{"<feature>": value}, ...]}.
Responses: application/json {"predictions": [probability, ...]}.
"""

import csv
import io
import json
import os

import joblib
import numpy as np


def _feature_order(model_dir):
    with open(os.path.join(model_dir, "baseline.json"), encoding="utf-8") as handle:
        return json.load(handle)["feature_order"]


def model_fn(model_dir):
    return {"model": joblib.load(os.path.join(model_dir, "model.joblib")), "features": _feature_order(model_dir)}


def _cell(text):
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def input_fn(body, content_type):
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if content_type.startswith("text/csv"):
        return [[_cell(c) for c in row] for row in csv.reader(io.StringIO(body)) if row]
    if content_type.startswith("application/json"):
        document = json.loads(body)
        return document["instances"] if isinstance(document, dict) else document
    raise ValueError(f"unsupported content type {content_type}")


def predict_fn(instances, loaded):
    features = loaded["features"]
    rows = [[i.get(name) for name in features] if isinstance(i, dict) else list(i) for i in instances]
    return loaded["model"].predict_proba(np.array(rows, dtype=object))[:, 1].tolist()


def output_fn(predictions, accept):
    return json.dumps({"predictions": predictions}), "application/json"
