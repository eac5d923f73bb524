"""`prover serve`: certified Lean verification as a service (lean_env/service.py)."""

from __future__ import annotations

import os
from typing import Optional

import typer

from lean_prover.lean_env.certify import require_checker
from lean_prover.lean_env.repl_checker import ReplChecker, repl_settings
from lean_prover.lean_env.service import build_app
from lean_prover.prover.cli.config import Config
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
    typer.echo(f"serving on http://{host or config.serve.host}:{port or config.serve.port} "
               f"({'API key from $' + config.serve.api_key_env if api_key else 'no API key'})", err=True)
    uvicorn.run(app, host=host or config.serve.host, port=port or config.serve.port, log_level="warning",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
