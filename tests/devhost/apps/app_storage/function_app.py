"""A plain app that uses the Storage SDK itself on AzureWebJobsStorage (UseDevelopmentStorage=true, as the
Core Tools template writes it), with no Storage binding: under ``func start`` it relies on the Azurite the
developer runs on the emulator's well-known ports. Its client is built at import, as many apps build it."""

from __future__ import annotations

import contextlib
import os

import azure.functions as func
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

CONNECTION = "AzureWebJobsStorage"
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
blobs = BlobServiceClient.from_connection_string(os.environ[CONNECTION])


@app.route(route="notes/{name}", methods=["PUT", "GET"])
def notes(req: func.HttpRequest) -> func.HttpResponse:
    container = blobs.get_container_client("notes")
    name = req.route_params["name"]
    if req.method == "PUT":
        with contextlib.suppress(ResourceExistsError):
            container.create_container()
        container.upload_blob(name, req.get_body(), overwrite=True)
        return func.HttpResponse(status_code=201)
    return func.HttpResponse(container.download_blob(name).readall(), mimetype="text/plain")
