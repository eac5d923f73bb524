"""A stand-in for an OpenAI-compatible completion server (vLLM's, say), on loopback. Tests only.

Every `POST …/completions` is answered with `n` copies of `text`, or (while `hang` is set)
held open until the server stops: what a policy server busy with a long batch looks like to
the client. `requests` counts the requests that arrived.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class CompletionServer:
    def __init__(self, text: str = "  FAIL\n```") -> None:
        self.text = text
        self.hang = threading.Event()
        self.requests = 0
        self.arrived = threading.Event()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests += 1
                server.arrived.set()
                if server.hang.is_set():
                    server._stop.wait()
                    return
                choices = [{"index": i, "text": server.text, "finish_reason": "stop"} for i in range(body.get("n", 1))]
                answer = json.dumps({"choices": choices, "usage": {"prompt_tokens": 10, "completion_tokens": 5}})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def __enter__(self) -> CompletionServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        self._http.shutdown()
        self._http.server_close()
