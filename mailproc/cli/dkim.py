"""`mailproc dkim`: make a signing key and the DNS record receivers check it against."""

from __future__ import annotations

import os
from pathlib import Path

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.delivery.dkim import configured_key, dns_record, generate_key, record_value


@click.group()
def dkim() -> None:
    """DKIM signatures on outgoing mail: keys and their DNS record."""


@dkim.command()
@click.option("--type", "kind", type=click.Choice(["rsa", "ed25519"]), default="rsa",
              show_default=True, help="RSA-2048 (every receiver) or Ed25519 (RFC 8463).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the private key (PEM, mode 600; never overwritten).")
@click.option("--domain", help="The signing domain (default: [outgoing.dkim] domain).")
@click.option("--selector", help="The selector (default: [outgoing.dkim] selector).")
@click.pass_context
@user_errors
def keygen(ctx: click.Context, kind: str, out: Path, domain: str | None,
           selector: str | None) -> None:
    """Make a new key, and print the DNS TXT record to publish before using it."""
    settings = load_app(ctx).settings
    domain = domain or settings.outgoing.dkim.domain
    selector = selector or settings.outgoing.dkim.selector
    if not (domain and selector):
        raise click.UsageError("give --domain and --selector (or set them in [outgoing.dkim])")
    if out.exists():
        raise click.ClickException(f"{out} exists: not overwritten (a published key would stop "
                                   "matching)")
    pem, value = generate_key(kind)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    click.echo(f"wrote {out}; publish this record, then set [outgoing.dkim] key_file:\n")
    click.echo(dns_record(domain, selector, value))


@dkim.command()
@click.pass_context
@user_errors
def record(ctx: click.Context) -> None:
    """Print the DNS TXT record for the key [outgoing.dkim] names."""
    settings = load_app(ctx).settings
    pem = configured_key(settings)
    if pem is None:
        raise click.ClickException("no [outgoing.dkim] domain and selector are configured")
    cfg = settings.outgoing.dkim
    click.echo(dns_record(cfg.domain, cfg.selector, record_value(pem)))
