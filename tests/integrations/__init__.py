"""Helpers for the training-callback tests: a real LossDoctor service on a loopback port that records the
bodies it was posted, and addresses where no service answers."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server

from lossdoctor.app import create_app
from lossdoctor.config import Config
from tests.conftest import free_port

StartResponse = Callable[..., Any]


@dataclass
class Service:
    url: str
    posts: list[Any] = field(default_factory=list)  # every JSON body POSTed to /v1/diagnoses, in order


@contextmanager
def running_service(config: Config | None = None) -> Iterator[Service]:
    """The real app (embedded cache) served by werkzeug in a thread, behind a WSGI wrapper that keeps a copy
    of each diagnosis request body."""
    app = create_app(config or Config())
    service = Service(url="")

    def recording(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/v1/diagnoses":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            service.posts.append(json.loads(body))
            environ["wsgi.input"] = io.BytesIO(body)
        result: Iterable[bytes] = app(environ, start_response)
        return result

    httpd = make_server("127.0.0.1", free_port(), recording, threaded=True)
    service.url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, name="lossdoctor-callback-test-server", daemon=True)
    thread.start()
    try:
        yield service
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


def refused_url() -> str:
    """A loopback port nobody listens on: connections are refused at once."""
    return f"http://127.0.0.1:{free_port()}"


@contextmanager
def silent_url() -> Iterator[str]:
    """A port that accepts connections (kernel backlog) but never answers: the client's timeout must fire."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
