"""`prover serve`: certified Lean verification as a service (lean_env/service.py)."""

from __future__ import annotations

import os
import socket
from typing import Optional

import typer

from lean_prover.data.errors import EnvironmentFailure
from lean_prover.lean_env.certify import require_checker
from lean_prover.lean_env.repl_checker import ReplChecker, repl_settings
from lean_prover.lean_env.service import build_app
from lean_prover.prover.cli.config import Config
from lean_prover.prover.errors import ProverError
from lean_prover.prover.training.remote_reward import openrlhf_router

GRACEFUL_SHUTDOWN_S = 30
"""On SIGTERM: how long requests in flight may take to finish before they are cut."""


def serve(
    ctx: typer.Context,
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on (default serve.host: 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535, help="Port (default serve.port: 8000)."),
) -> None:
    """Serve Lean verification over HTTP: kimina-lean-server's /api/check and /verify, with our verdict beside."""
    import uvicorn

    config: Config = ctx.obj
    repl_settings(config.lean)  # Lean not set up: one line, before anything listens
    require_checker(config.lean.workspace, config.lean.certify, config.lean.checker_binary)
    api_key = os.environ.get(config.serve.api_key_env, "")
    app = build_app(ReplChecker.from_config(config.lean), config.serve, api_key, config.data)
    app.include_router(openrlhf_router())  # OpenRLHF's --remote_rm_url: /openrlhf/get_reward
    address, number = host or config.serve.host, port or config.serve.port
    try:
        listening = listening_socket(address, number)
    except OSError as error:
        raise ServeError(f"cannot listen on {address}:{number}: {error.strerror or error}") from None
    typer.echo(f"serving on http://{address}:{number} "
               f"({'API key from $' + config.serve.api_key_env if api_key else 'no API key'})", err=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S))
    server.run(sockets=[listening])


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket uvicorn serves on, with TCP_NODELAY, which the connections it accepts inherit:
    uvicorn (over h11) writes a response's head and body apart, and without it Nagle's algorithm
    holds the body back for the client's delayed ACK, 40 ms a request on Linux loopback
    (benchmarks/serve_load.py measured 44 ms a request without it, 0.7 ms with it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listening.bind((host, port))
    return listening


class ServeError(ProverError, EnvironmentFailure):
    """The service cannot start where it was asked to (the port taken, the address not this machine's)."""
