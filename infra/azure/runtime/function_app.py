"""Azure Functions entry points (Python v2 model): the Event Grid trigger for model-monitor runs
and the action group's HTTP alert hook. The logic lives in retrain.py."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os

import azure.functions as func
from azureml_client import AzureMLJobClient  # deployed flat: runtime/ is the function app root
from ledger import BlobLedger
from retrain import Config, handle

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


def _run(payload) -> dict:
    client = AzureMLJobClient.from_environment(
        os.environ["AML_SUBSCRIPTION_ID"], os.environ["AML_RESOURCE_GROUP"], os.environ["AML_WORKSPACE"]
    )
    ledger = BlobLedger.from_environment(
        os.environ["AzureWebJobsStorage__blobServiceUri"], os.environ["RETRAIN_STATE_CONTAINER"]
    )
    outcome = handle(payload, client, ledger, Config.from_env(), dt.datetime.now(dt.timezone.utc))
    logging.info("retraining %s: %s", outcome.action, outcome.detail)
    return {"action": outcome.action, "detail": outcome.detail, "job": outcome.job_name}


@app.route(route="alert", methods=["POST"])
def alert(req: func.HttpRequest) -> func.HttpResponse:
    try:
        payload = req.get_json()
    except ValueError:
        return func.HttpResponse("expected a JSON alert payload", status_code=400)
    return func.HttpResponse(json.dumps(_run(payload)), mimetype="application/json")


@app.event_grid_trigger(arg_name="event")
def drift_event(event: func.EventGridEvent) -> None:
    _run({"id": event.id, "eventType": event.event_type, "data": event.get_json()})
