"""Config: the example runs as is, bad keys and types are named, env overrides apply."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailproc import config
from mailproc.cli.main import cli
from mailproc.credentials import resolve_secret
from mailproc.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "mailproc.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config" / "mailproc.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_example_config_loads_as_is():
    s = config.load(EXAMPLE, env={})
    assert s.support.address == "support@example.com"
    assert [m.name for m in s.mailboxes] == ["demo"]
    assert s.mailboxes[0].type == "maildir"
    assert s.outgoing.transport == "file"
    assert s.database_url == f"sqlite:///{ROOT / 'var' / 'mailproc.sqlite3'}"
    assert s.redis_url == ""


def test_unknown_key_is_named_with_file_and_known_keys(tmp_path):
    path = write(tmp_path, '[[mailboxes]]\nname = "x"\npath = "m"\nhots = "imap"\n')
    with pytest.raises(ConfigError) as err:
        config.load(path, env={})
    assert str(err.value).startswith(f"{path}: mailboxes[0].hots: unknown key")
    assert "host" in str(err.value)


def test_wrong_type_names_expected_form(tmp_path):
    path = write(tmp_path, '[storage]\nmax_message_bytes = "big"\n')
    with pytest.raises(ConfigError, match=r"storage\.max_message_bytes: expected an integer, got 'big'"):
        config.load(path, env={})


def test_wrong_choice_lists_choices(tmp_path):
    path = write(tmp_path, '[outgoing]\ntransport = "pigeon"\n')
    with pytest.raises(ConfigError, match=r"outgoing\.transport: expected one of 'file', 'smtp'"):
        config.load(path, env={})


def test_bad_duration_and_missing_imap_host(tmp_path):
    path = write(tmp_path, '[threading]\nsubject_window = "two weeks"\n')
    with pytest.raises(ConfigError, match=r"threading\.subject_window: expected a duration"):
        config.load(path, env={})
    path = write(tmp_path, '[[mailboxes]]\nname = "x"\ntype = "imap"\n')
    with pytest.raises(ConfigError, match=r"mailboxes\[0\]\.host: required"):
        config.load(path, env={})


def test_invalid_toml_and_missing_explicit_file(tmp_path):
    path = write(tmp_path, "[support\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(path, env={})
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "nope.toml", env={})


def test_environment_overrides(tmp_path):
    env = {
        "MAILPROC_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
        "MAILPROC_REDIS_URL": "redis://127.0.0.1:6379/3",
        "MAILPROC_IMAP_HOST": "127.0.0.1", "MAILPROC_IMAP_PORT": "1143",
        "MAILPROC_IMAP_USER": "support", "MAILPROC_IMAP_PASSWORD": "s3cret",
        "MAILPROC_IMAP_SSL": "false", "MAILPROC_IMAP_FOLDER": "Support",
        "MAILPROC_SMTP_HOST": "127.0.0.1", "MAILPROC_SMTP_PORT": "2525",
        "MAILPROC_SMTP_TLS": "none", "MAILPROC_SUPPORT_ADDRESS": "help@corp.example",
        "MAILPROC_SECRET_KEY": "k" * 32, "MAILPROC_NOW": "2026-11-27T17:55:00+01:00",
    }
    s = config.load(EXAMPLE, env=env)
    assert s.database_url.startswith("postgresql://")
    assert s.redis_url.endswith("/3")
    (box,) = s.mailboxes
    assert (box.type, box.host, box.port, box.security, box.folder) == (
        "imap", "127.0.0.1", 1143, "plain", "Support")
    assert box.password_env == "MAILPROC_IMAP_PASSWORD"  # resolved at use, never stored
    assert (s.outgoing.transport, s.outgoing.port, s.outgoing.tls) == ("smtp", 2525, "none")
    assert s.support.address == "help@corp.example"
    assert s.now_override == datetime(2026, 11, 27, 16, 55, tzinfo=timezone.utc)
    assert "kkkk" not in repr(s)  # the secret never shows in a repr (or a log line)


def test_an_imap_server_from_the_environment_keeps_the_mailboxs_team(tmp_path):
    """The example's demo mailbox routes to helpdesk; the server from the environment still
    does, so cases get a team, an assignee and notifications (issue 15, item 7)."""
    env = {"MAILPROC_IMAP_HOST": "imap.corp.example", "MAILPROC_IMAP_USER": "support"}
    (box,) = config.load(EXAMPLE, env=env).mailboxes
    assert (box.type, box.host, box.team, box.default_priority) == (
        "imap", "imap.corp.example", "helpdesk", "normal")
    (box,) = config.load(EXAMPLE, env={**env, "MAILPROC_IMAP_TEAM": "billing"}).mailboxes
    assert box.team == "billing"
    configured = tmp_path / "imap.toml"
    configured.write_text('[[mailboxes]]\nname = "support"\ntype = "imap"\nhost = "old.example"\n'
                          'team = "desk"\nprocessed_action = "move"\nmove_to = "Done"\n'
                          'folder = "Support"\n')
    (box,) = config.load(configured, env=env).mailboxes
    assert (box.name, box.host, box.team, box.processed_action, box.move_to, box.folder) == (
        "imap", "imap.corp.example", "desk", "move", "Done", "Support")
    assert (box.auth, box.password_env) == ("password", "MAILPROC_IMAP_PASSWORD")


def test_bad_now_is_rejected():
    with pytest.raises(ConfigError, match="MAILPROC_NOW"):
        config.load(EXAMPLE, env={"MAILPROC_NOW": "tomorrow"})
    with pytest.raises(ConfigError, match="no UTC offset"):
        config.load(EXAMPLE, env={"MAILPROC_NOW": "2026-11-27T17:55:00"})


def test_secret_from_env_or_command():
    assert resolve_secret("X_PW", "", setting="s", environ={"X_PW": "pw"}) == "pw"
    assert resolve_secret("", "printf 'from-cmd\\n'", setting="s", environ={}) == "from-cmd"
    with pytest.raises(ConfigError, match="mailboxes.a.password_command: 'false' exited"):
        resolve_secret("", "false", setting="mailboxes.a.password", environ={})


def test_cli_bad_config_gives_one_line_error_naming_key(tmp_path):
    path = write(tmp_path, '[support]\nadress = "x@y"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "status"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "support.adress: unknown key" in lines[0]


def test_every_command_has_help():
    def walk(group, prefix):
        for name, cmd in group.commands.items():
            yield prefix + [name], cmd
            if hasattr(cmd, "commands"):
                yield from walk(cmd, prefix + [name])

    runner = CliRunner()
    seen = []
    for path, cmd in walk(cli, []):
        result = runner.invoke(cli, path + ["--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output and (cmd.help or cmd.short_help), path
        seen.append(" ".join(path))
    assert {"run", "db upgrade", "export", "status", "doctor"} <= set(seen)
