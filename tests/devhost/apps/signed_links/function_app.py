"""Links signed with the APPROVAL_SIGNING_KEY app setting, as the workflow app signs approval links (HMAC),
and a per-process key when it is not set: devhost must provide a key that outlives a restart. It serves
"workflows" as devhost tells them: it indexes the activity named as the engine's approval-answer verifier."""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
_PROCESS_KEY = os.urandom(32)


def _signature(item: str) -> str:
    configured = os.environ.get("APPROVAL_SIGNING_KEY", "").strip()
    key = configured.encode() if configured else _PROCESS_KEY
    return hmac.new(key, item.encode(), hashlib.sha256).hexdigest()


@app.route(route="links/{item}", methods=["GET"])
def link(req: func.HttpRequest) -> func.HttpResponse:
    item = req.route_params["item"]
    base = req.url.split("/api/", 1)[0]
    uri = f"{base}/api/answers/{item}?token={_signature(item)}"
    return func.HttpResponse(json.dumps({"respond_uri": uri}), mimetype="application/json")


@app.route(route="answers/{item}", methods=["POST"])
def answer(req: func.HttpRequest) -> func.HttpResponse:
    valid = hmac.compare_digest(req.params.get("token", ""), _signature(req.route_params["item"]))
    return func.HttpResponse(status_code=202 if valid else 403)


@app.function_name("verify_approval_answer")
@app.activity_trigger(input_name="request")
def verify_approval_answer(request: str) -> bool:
    """Stands in for the engine's verifier of signed approval answers (by name only)."""
    return False
