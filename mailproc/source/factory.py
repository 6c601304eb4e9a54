"""A Source for each configured mailbox; the demo Maildir seed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from mailproc.config import MailboxSettings
from mailproc.credentials import resolve_secret
from mailproc.errors import ConfigError
from mailproc.oauth.configured import grant_tokens
from mailproc.source.imap import ImapSettings, ImapSource
from mailproc.source.maildir import MaildirSource

if TYPE_CHECKING:
    from mailproc.app import App


def build_source(app: App, box: MailboxSettings):
    """A Source for one configured mailbox (secrets resolved here, never logged)."""
    if box.type == "maildir":
        path = app.settings.resolve(box.path)
        if box.seed_from:
            seed_maildir(path, app.settings.resolve(box.seed_from))
        return MaildirSource(box.name, path, batch_size=box.batch_size)
    where = f"mailboxes.{box.name}"
    password = resolve_secret(box.password_env, box.password_command, setting=f"{where}.password")
    token = resolve_secret(box.oauth2_token_env, box.oauth2_token_command,
                           setting=f"{where}.oauth2_token")
    if box.auth == "password" and password is None:
        raise ConfigError(f"{where}: no password: set {box.password_env or 'password_env'} "
                          "or password_command")
    if box.auth == "xoauth2" and token is None:
        raise ConfigError(f"{where}: no OAuth2 token: set oauth2_token_env or oauth2_token_command")
    # Both OAuth2 kinds log in with a bearer token; with "oauth2" it comes from our own grant.
    tokens = grant_tokens(app, box.name) if box.auth == "oauth2" else None
    return ImapSource(ImapSettings(
        name=box.name, host=box.host, port=box.port, user=box.user, security=box.security,
        auth="password" if box.auth == "password" else "xoauth2", password=password,
        oauth2_token=token, folder=box.folder,
        processed_action=box.processed_action, processed_flag=box.processed_flag,
        move_to=box.move_to, batch_size=box.batch_size, use_idle=box.use_idle,
        ca_file=str(app.settings.resolve(box.ca_file)) if box.ca_file else None),
        token_provider=tokens)


def seed_maildir(path: Path, seed: Path) -> int:
    """Copy the demo mailbox into a new Maildir once, so a newcomer's first run has mail."""
    marker = path / ".mailproc-seeded"
    if marker.exists() or not seed.is_dir():
        return 0
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    count = 0
    for i, src in enumerate(sorted(seed.glob("*.eml"))):
        shutil.copyfile(src, path / "new" / f"{1700000000 + i}.demo{i:03d}.{src.stem}")
        count += 1
    marker.write_text(f"seeded {count} messages from {seed}\n")
    return count
