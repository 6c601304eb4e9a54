"""`mailproc web`: serve the console (uvicorn) on the same database as everything else."""

from __future__ import annotations

import click
import uvicorn

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.run import ensure_schema
from mailproc.web.app import create_app


@click.command()
@click.option("--host", default=None, help="Address to listen on (default [web] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port (default [web] port, 8025).")
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True,
              help="Proxies whose X-Forwarded-Proto/For are believed (TLS ends there).")
@click.pass_context
@user_errors
def web(ctx: click.Context, host: str | None, port: int | None,
        forwarded_allow_ips: str) -> None:
    """Serve the web console: cases, templates, KB, phone list, quarantine, settings.

    Create the first admin with `mailproc users add EMAIL --role admin`. Behind a TLS proxy,
    cookies are marked Secure (the proxy must send X-Forwarded-Proto).
    """
    app = load_app(ctx)
    ensure_schema(app)
    app.prepare()
    host, port = host or app.settings.web.host, port or app.settings.web.port
    click.echo(f"mailproc console on http://{host}:{port}/ (people open it at "
               f"{app.settings.web.url})", err=True)
    uvicorn.run(create_app(app), host=host, port=port, proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips, log_level="warning",
                server_header=False)
