"""The configured transport: SMTP, or .eml files for the embedded setup."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mailproc.credentials import resolve_secret
from mailproc.delivery.dkim import SigningTransport, load_signer
from mailproc.delivery.files import FileTransport, Transport
from mailproc.delivery.smtp import SmtpTransport
from mailproc.errors import ConfigError
from mailproc.oauth.configured import grant_tokens

if TYPE_CHECKING:
    from mailproc.app import App


def make_transport(app: App) -> Transport:
    """The configured transport; it signs each mail first when [outgoing.dkim] is set."""
    transport = _transport(app)
    signer = load_signer(app.settings)
    return SigningTransport(transport, signer) if signer is not None else transport


def _transport(app: App) -> Transport:
    out = app.settings.outgoing
    if out.transport == "file":
        # A relative file_dir lives under var/, next to the database of the embedded setup.
        return FileTransport(Path(out.file_dir) if os.path.isabs(out.file_dir)
                             else app.var / out.file_dir)
    if out.ca_file:
        out = replace(out, ca_file=str(app.settings.resolve(out.ca_file)))
    if out.auth == "oauth2":
        return SmtpTransport(out, None, tokens=grant_tokens(app, None))
    password = resolve_secret(out.password_env, out.password_command,
                              setting="outgoing.password")
    if out.user and password is None:
        raise ConfigError(f"outgoing.user is set but there is no password: set "
                          f"{out.password_env or 'outgoing.password_env'} or password_command")
    return SmtpTransport(out, password)
