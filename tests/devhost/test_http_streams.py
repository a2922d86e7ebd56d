"""HTTP streams (azurefunctions-extensions-http-fastapi) on devhost as on Azure: the extension's Request
in, a StreamingResponse written to the client as it is produced (chunked), plain values as the extension's
web app answers them; an app that cannot run so is refused at start, naming why."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from devhost.config.errors import DevHostError
from devhost.functions.indexing import load_and_index
from devhost.testing import DevHostHandle, run_devhost
from tests.devhost.helpers import APPS


@pytest.fixture(scope="module")
def host() -> Iterator[DevHostHandle]:
    with run_devhost(APPS / "http_stream") as handle:
        yield handle


def test_a_streamed_answer_reaches_the_client_before_it_ends(host: DevHostHandle) -> None:
    """The app yields a piece, then waits for a gate only this test opens, after it read that piece: were
    the body gathered before sending, the first read would wait for the app's 10 s timeout line."""
    with httpx.stream("GET", f"{host.api_url}/stream?gate=t1", timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["transfer-encoding"] == "chunked"
        pieces = response.iter_raw()
        assert next(pieces) == b"data: first\n\n"
        opened = httpx.post(f"{host.api_url}/gates/t1?who=test", content=b"now", timeout=10)
        rest = b"".join(pieces)
    assert rest == b"data: reading 2\n\ndata: reading 3\n\ndata: reading 4\n\n"
    # a plain value answered as JSON, the route's parameters as the request's path parameters
    assert opened.status_code == 200
    assert opened.json() == {"opened": "t1", "body": "now", "query": {"who": "test"}}


def test_streams_run_side_by_side(host: DevHostHandle) -> None:
    """A stream held open does not hold up another request: a second stream starts and ends meanwhile."""
    with httpx.stream("GET", f"{host.api_url}/stream?gate=t2", timeout=30) as held:
        held_pieces = held.iter_raw()
        first = next(held_pieces)
        done = threading.Event()

        def other() -> None:
            with httpx.stream("GET", f"{host.api_url}/stream?gate=t3", timeout=30) as response:
                pieces = response.iter_raw()
                next(pieces)
                httpx.post(f"{host.api_url}/gates/t3", timeout=10)
                b"".join(pieces)
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert done.wait(10)
        thread.join()
        httpx.post(f"{host.api_url}/gates/t2", timeout=10)
        assert first + b"".join(held_pieces) == (
            b"data: first\n\ndata: reading 2\n\ndata: reading 3\n\ndata: reading 4\n\n"
        )


def test_a_function_that_raises_is_a_json_500(host: DevHostHandle) -> None:
    reply = httpx.get(f"{host.api_url}/fails", timeout=10)
    assert reply.status_code == 500
    assert "secret internal detail" not in reply.text
    assert "'fails' raised an exception" in reply.json()["error"]


def _app(tmp_path: Path, source: str) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    shutil.copy(APPS / "http_stream" / "host.json", folder)
    (folder / "function_app.py").write_text(source)
    return folder


_STREAMED = """
import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, StreamingResponse

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

@app.route(route="stream")
async def stream(req: Request) -> StreamingResponse:
    return StreamingResponse(iter(["x"]))
"""


def test_an_app_using_streams_needs_init_indexing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHON_ENABLE_INIT_INDEXING", raising=False)
    with pytest.raises(DevHostError, match="PYTHON_ENABLE_INIT_INDEXING is not set"):
        load_and_index(_app(tmp_path, _STREAMED))


@pytest.mark.parametrize(
    ("function", "refusal"),
    [
        (
            "def classic(req: func.HttpRequest) -> func.HttpResponse:\n    return func.HttpResponse('no')\n",
            r"function 'classic'.*takes the extension's Request.*not HttpRequest",
        ),
        (
            "def classic(req: Request) -> func.HttpResponse:\n    return func.HttpResponse('no')\n",
            r"function 'classic'.*answers one of the extension's response types.*not HttpResponse",
        ),
    ],
)
def test_with_streams_every_http_function_uses_the_extensions_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, function: str, refusal: str
) -> None:
    monkeypatch.setenv("PYTHON_ENABLE_INIT_INDEXING", "1")
    classic = _STREAMED + "\n@app.route(route='classic')\n" + function
    with pytest.raises(DevHostError, match=refusal):
        load_and_index(_app(tmp_path, classic))


def test_an_app_without_the_extensions_request_runs_as_before(tmp_path: Path) -> None:
    index = load_and_index(APPS / "http_routes")
    assert index.http and not index.http_streams


def test_stopping_devhost_ends_an_answer_still_streaming() -> None:
    """The app's stream waits 10 s for a gate nobody opens; devhost stops at once all the same, ending it."""
    ended = threading.Event()
    with ExitStack() as stack:
        host = stack.enter_context(run_devhost(APPS / "http_stream"))
        first = threading.Event()

        def read() -> None:
            try:
                with httpx.stream("GET", f"{host.api_url}/stream?gate=never", timeout=30) as response:
                    for _ in response.iter_raw():
                        first.set()
            except httpx.HTTPError:
                pass  # cut mid-body: what a stopping host does
            ended.set()

        threading.Thread(target=read, daemon=True).start()
        assert first.wait(10)
        started = time.monotonic()
        stack.close()
        assert time.monotonic() - started < 5
    assert ended.wait(5)
