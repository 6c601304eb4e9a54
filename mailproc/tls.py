"""The TLS client context for IMAP and SMTP: the system's CAs, plus an admin's private one."""

from __future__ import annotations

import ssl

from mailproc.errors import ConfigError


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Certificate and host name checks always on; `ca_file` (PEM) is trusted as well."""
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"ca_file {ca_file}: not a readable PEM file of CA certificates "
                              f"({exc})") from None
    return context
