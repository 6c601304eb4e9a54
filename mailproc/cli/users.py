"""`mailproc users`: who may sign in to the web console, with which role."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from mailproc.cli.context import load_app, user_errors
from mailproc.cli.output import echo_json, table
from mailproc.cli.run import ensure_schema
from mailproc.models import User
from mailproc.web.accounts import (
    ROLES, AccountError, active_sessions, add_user, revoke_sessions, set_disabled, unlock,
)


@click.group()
def users() -> None:
    """Users of the web console (admins, leads, agents)."""


@users.command()
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="admin, lead or agent.")
@click.option("--name", default="", help="Shown in the console and in events.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--no-password", is_flag=True, help="Sign-in links by mail only.")
@click.option("--by", "actor", default="cli", show_default=True, help="Recorded as the actor.")
@click.pass_context
@user_errors
def add(ctx: click.Context, email: str, role: str, name: str, password_stdin: bool,
        no_password: bool, actor: str) -> None:
    """Add a user or change one's role (and password). Asks for the password unless told."""
    app = load_app(ctx)
    ensure_schema(app)
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not no_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with app.db.transaction() as session:
            user = add_user(session, email, role=role, name=name, password=password,
                            actor=actor, now=app.clock.now())
            email, role = user.email, user.role
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{email}: {role}" + ("" if password else " (sign-in links only)"))


@users.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
@user_errors
def list_(ctx: click.Context, as_json: bool) -> None:
    """Every user with role, state, last sign-in and open sessions."""
    app = load_app(ctx)
    ensure_schema(app)
    now = app.clock.now()
    with app.db.transaction() as session:
        open_ = active_sessions(session, now)
        rows = [{"email": u.email, "name": u.name, "role": u.role,
                 "state": "disabled" if u.disabled else
                 ("locked" if u.locked_until and u.locked_until > now else "active"),
                 "password": bool(u.password_hash),
                 "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
                 "sessions": open_.get(u.id, 0)}
                for u in session.scalars(select(User).order_by(User.role, User.email))]
    if as_json:
        echo_json(rows)
        return
    click.echo(table([[r["email"], r["name"], r["role"], r["state"],
                       "yes" if r["password"] else "links only", r["last_login_at"] or "never",
                       r["sessions"]] for r in rows],
                     ["email", "name", "role", "state", "password", "last sign-in", "sessions"]))


def _change(ctx: click.Context, email: str, what: str) -> None:
    app = load_app(ctx)
    ensure_schema(app)
    now = app.clock.now()
    with app.db.transaction() as session:
        user = session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"no user {email}")
        if what in ("disable", "enable"):
            set_disabled(session, user, what == "disable", actor="cli", now=now)
        elif what == "unlock":
            unlock(session, user, actor="cli", now=now)
        else:
            n = revoke_sessions(session, user_id=user.id, now=now)
            click.echo(f"{n} session(s) revoked")
    click.echo(f"{email}: {what} done")


def _change_command(name: str, doc: str) -> None:
    @users.command(name=name, help=doc)
    @click.argument("email")
    @click.pass_context
    @user_errors
    def command(ctx: click.Context, email: str) -> None:
        _change(ctx, email, name)


for _name, _doc in (("disable", "Stop a user from signing in and end their sessions."),
                    ("enable", "Let a disabled user sign in again."),
                    ("unlock", "Lift the lock after too many wrong passwords."),
                    ("revoke", "Sign a user out everywhere (revoke every session).")):
    _change_command(_name, _doc)
