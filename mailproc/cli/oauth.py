"""`mailproc oauth`: sign a mailbox (or the outgoing server) in with OAuth2, see the grants,
renew one now, sign one out."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json, table
from mailproc.errors import GrantError
from mailproc.oauth.configured import configured, grant_tokens, oauth_places, vault
from mailproc.oauth.grants import delete_grant, grant_name, list_grants, save_grant
from mailproc.oauth.login import login as run_login


def _grant(func):
    """MAILBOX or --outgoing: which grant a subcommand is about."""
    func = click.option("--outgoing", is_flag=True,
                        help="The [outgoing] SMTP server's grant instead.")(func)
    return click.argument("mailbox", required=False)(func)


def _target(mailbox: str | None, outgoing: bool) -> str | None:
    if bool(mailbox) == outgoing:
        raise click.UsageError("name a MAILBOX or give --outgoing (one of them)")
    return mailbox


@click.group()
def oauth() -> None:
    """OAuth2 sign-in for Microsoft 365, Google and other providers."""


@oauth.command("login")
@_grant
@click.option("--no-browser", is_flag=True, help="Print the address only; open no browser.")
@click.option("--port", type=int, default=0, show_default=True,
              help="Loopback port for the browser's redirect (0: any free port).")
@click.option("--timeout", type=float, default=900.0, show_default=True,
              help="Seconds to wait for the person to sign in.")
@click.pass_context
@user_errors
def login_command(ctx: click.Context, mailbox: str | None, outgoing: bool, no_browser: bool,
                  port: int, timeout: float) -> None:
    """Sign MAILBOX in (device code for Microsoft, browser for Google) and keep the grant."""
    app = load_app(ctx)
    app.db.upgrade()
    c = configured(app, _target(mailbox, outgoing))
    try:
        token = run_login(c, say=click.echo, open_browser=not no_browser, port=port,
                          timeout=timeout)
        row = save_grant(app.db, vault(app), c.name, c.endpoints, c.account, token,
                         datetime.now(timezone.utc))
    except GrantError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Signed in: {c.name} as {c.account} ({c.endpoints.provider}); scopes "
               f"{row.scopes}. mailproc renews the access from now on.")


@oauth.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@user_errors
def status(ctx: click.Context, as_json: bool) -> None:
    """Each grant's account, scopes, expiry and state; configured mailboxes without one."""
    app = load_app(ctx)
    app.db.upgrade()
    grants = {g.name: g for g in list_grants(app.db)}
    wanted = [grant_name(place) for place in oauth_places(app.settings)]
    rows = [{"name": g.name, "provider": g.provider, "account": g.account, "scopes": g.scopes,
             "state": g.state, "access_until": g.expires_at, "refreshed_at": g.refreshed_at,
             "refreshes": g.refreshes, "problem": g.problem} for g in grants.values()]
    rows += [{"name": n, "provider": "", "account": "", "scopes": "", "state": "missing",
              "access_until": None, "refreshed_at": None, "refreshes": 0,
              "problem": "never signed in"} for n in wanted if n not in grants]
    if as_json:
        echo_json(rows)
    elif not rows:
        click.echo("no OAuth2 mailbox is configured and no grant is stored")
    else:
        click.echo(table([[r["name"], r["account"], r["provider"], r["state"],
                           r["access_until"], r["refreshes"], r["scopes"], r["problem"] or ""]
                          for r in rows],
                         ["grant", "account", "provider", "state", "access until",
                          "renewals", "scopes", "problem"]))
    if any(r["state"] != "active" for r in rows):
        ctx.exit(1)


@oauth.command()
@_grant
@click.pass_context
@user_errors
def refresh(ctx: click.Context, mailbox: str | None, outgoing: bool) -> None:
    """Renew the access token now (it is renewed by itself before it expires)."""
    app = load_app(ctx)
    tokens = grant_tokens(app, _target(mailbox, outgoing))
    try:
        tokens(rejected=tokens())
    except GrantError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"renewed {tokens.name}")


@oauth.command()
@_grant
@click.pass_context
@user_errors
def logout(ctx: click.Context, mailbox: str | None, outgoing: bool) -> None:
    """Forget the stored grant (revoke access at the provider's page as well)."""
    app = load_app(ctx)
    name = grant_name(_target(mailbox, outgoing))
    if not delete_grant(app.db, name):
        raise click.ClickException(f"no grant {name} is stored")
    click.echo(f"forgot {name}; mailproc cannot sign in there until `mailproc oauth login`")
