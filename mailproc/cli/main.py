"""The `mailproc` command: one click group, one module per subcommand family."""

from __future__ import annotations

import importlib
import logging

import click

from mailproc.cli.context import setup_logging

log = logging.getLogger(__name__)

# (module, attribute) of each subcommand, in the order `--help` lists them.
COMMANDS = [
    ("mailproc.cli.run", "run"),
    ("mailproc.cli.db", "db"),
    ("mailproc.cli.export", "export"),
    ("mailproc.cli.status", "status"),
    ("mailproc.cli.doctor", "doctor"),
    ("mailproc.cli.parse_reply", "parse_reply"),
    ("mailproc.cli.kb", "kb"),
    ("mailproc.cli.templates", "templates"),
    ("mailproc.cli.requeue", "requeue"),
    ("mailproc.cli.sweep", "sweep"),
    ("mailproc.cli.phone_list", "phone_list"),
    ("mailproc.cli.incident", "incident"),
    ("mailproc.cli.report", "report"),
    ("mailproc.cli.attachments", "attachments"),
    ("mailproc.cli.privacy", "privacy"),
    ("mailproc.cli.dkim", "dkim"),
    ("mailproc.cli.oauth", "oauth"),
    ("mailproc.cli.web", "web"),
    ("mailproc.cli.users", "users"),
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", envvar="MAILPROC_CONFIG", type=click.Path(),
              help="Config file (default config/mailproc.toml; env MAILPROC_CONFIG).")
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error", "json"], case_sensitive=False),
              help="Log level on stderr; 'json' logs structured lines at INFO.")
@click.version_option(package_name="mailproc")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_level: str) -> None:
    """mailproc: turn a support mailbox into cases, acknowledgements and escalations."""
    setup_logging(log_level)
    ctx.obj = {"config": config_path}


for _module, _attr in COMMANDS:
    cli.add_command(getattr(importlib.import_module(_module), _attr), name=_attr.replace("_", "-"))

if __name__ == "__main__":
    cli()
