"""HTTP functions only: routes, methods, auth levels, sync and async, errors."""

from __future__ import annotations

import json
import os

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="items/{id:int}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"id": req.route_params["id"], "q": req.params.get("q")}), mimetype="application/json"
    )


@app.route(route="items/{name:alpha}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def get_named(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"name={req.route_params['name']}")


@app.route(route="items", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def create_item(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    body = req.get_json()
    return func.HttpResponse(
        json.dumps({"got": body, "fn": context.function_name, "ct": req.headers.get("content-type")}),
        status_code=201,
        mimetype="application/json",
    )


@app.route(route="opt/{x?}", auth_level=func.AuthLevel.ANONYMOUS)
def optional(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"x={req.route_params.get('x')}|{req.method}")


@app.route(route="files/{*rest}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def files(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"rest={req.route_params.get('rest')}")


@app.route(route="secret", methods=["GET"])
def secret(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("function-level")


@app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin-level")


@app.route(route="boom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret internal detail")


@app.route(route="env", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def env(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(os.environ.get(req.params["key"], "<unset>"))


@app.route(route="headers", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def headers(req: func.HttpRequest) -> func.HttpResponse:
    """The request's headers (names lower-cased) and URL, as the app sees them."""
    seen = {k.lower(): v for k, v in req.headers.items()}
    return func.HttpResponse(json.dumps({"headers": seen, "url": req.url}), mimetype="application/json")
