"""A local HTTP endpoint that answers AWS query-protocol requests from a script, to see
what botocore and the deploy tool do with answers no emulator gives on demand
(throttling, expired tokens)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


def error_body(code: str, message: str) -> bytes:
    """An error as the query protocol (CloudFormation, STS) returns it."""
    return (f'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error>'
            f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>8d1c1b3a-0000-4000-8000-000000000000</RequestId></ErrorResponse>").encode()


@contextmanager
def scripted_endpoint(answers: list[tuple[int, bytes]]) -> Iterator[tuple[str, list[str]]]:
    """Serve `answers` in order, one per request; yields the URL and the actions asked for."""
    actions: list[str] = []
    pending = list(answers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            actions.append(parse_qs(body).get("Action", ["?"])[0])
            status, payload = pending.pop(0) if pending else (500, b"no more scripted answers")
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", actions
    finally:
        server.shutdown()
        thread.join()
