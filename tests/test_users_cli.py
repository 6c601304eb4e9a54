"""`mailproc users`: the first admin, roles, and taking access away."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mailproc.cli.main import cli
from mailproc.db import Database
from tests.web_helpers import client, console_app, csrf_of, signed_in


def _run(config_env, *args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input, env=config_env,
                                catch_exceptions=False)
    return result


def test_users_add_list_disable_unlock_revoke(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'console.sqlite3'}"
    env = {"MAILPROC_DATABASE_URL": db_url, "MAILPROC_SECRET_KEY": "cli-" + "k" * 28}
    r = _run(env, "users", "add", "Ada@Example.com", "--role", "admin", "--name", "Ada",
             "--password-stdin", input="a long passphrase\n")
    assert r.exit_code == 0 and "ada@example.com: admin" in r.output
    r = _run(env, "users", "add", "short@example.com", "--role", "agent", "--password-stdin",
             input="short\n")
    assert r.exit_code == 1 and "at least 10 characters" in r.output
    r = _run(env, "users", "add", "links@example.com", "--role", "lead", "--no-password")
    assert "sign-in links only" in r.output
    rows = {u["email"]: u for u in json.loads(_run(env, "users", "list", "--json").output)}
    assert rows["ada@example.com"]["role"] == "admin" and rows["ada@example.com"]["password"]
    assert rows["links@example.com"]["password"] is False
    assert "short@example.com" not in rows
    assert _run(env, "users", "disable", "links@example.com").exit_code == 0
    rows = {u["email"]: u for u in json.loads(_run(env, "users", "list", "--json").output)}
    assert rows["links@example.com"]["state"] == "disabled"
    r = _run(env, "users", "revoke", "nobody@example.com")
    assert r.exit_code == 1 and "no user nobody@example.com" in r.output


def test_revoke_from_the_cli_ends_a_browser_session(tmp_path):
    # The command reaches the database by its URL alone: a SQLite file.
    db = Database(f"sqlite:///{tmp_path / 'console.sqlite3'}")
    app = console_app(db, tmp_path)
    browser = signed_in(app, "alice@example.com")
    assert browser.get("/").status_code == 200
    env = {"MAILPROC_DATABASE_URL": db.url, "MAILPROC_SECRET_KEY": "test-key-" + "x" * 24}
    r = _run(env, "users", "revoke", "alice@example.com")
    assert r.exit_code == 0 and "1 session(s) revoked" in r.output
    assert browser.get("/").status_code == 303
    c = client(app)
    assert csrf_of(c.get("/login").text)        # and she may sign in again
