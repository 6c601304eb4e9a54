"""A built message to wire bytes, with attachments of any size at C speed.

The stdlib encodes an attachment to base64 one 57-byte slice at a time, writes a body one
line per call and searches the whole text for a line that collides with a boundary it made
up: about a second of CPU for each copy of a 40 MB file, and a notification goes to every
agent of a team. Here the same bytes as the stdlib's (a test holds them to it) come from a
few calls into C, and boundaries are random enough not to need the search.
"""

from __future__ import annotations

import binascii
import secrets
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import Policy
from io import BytesIO

_LINE = 76      # base64 characters per line: what the stdlib writes under a 78-column policy


def add_attachment(msg: EmailMessage, data: bytes, *, maintype: str, subtype: str,
                   filename: str) -> None:
    """`msg.add_attachment(data, ...)`, with the base64 body encoded in one call."""
    if msg.policy.max_line_length != 78:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        return
    msg.add_attachment(b"", maintype=maintype, subtype=subtype, filename=filename)
    encoded = binascii.b2a_base64(data, newline=False).decode("ascii")
    lines = [encoded[i:i + _LINE] for i in range(0, len(encoded), _LINE)]
    msg.get_payload()[-1].set_payload("\n".join(lines) + "\n" if lines else "")


def as_bytes(msg: EmailMessage, policy: Policy) -> bytes:
    """`msg.as_bytes(policy=policy)`, each body written in one piece.

    A multipart without a boundary gets a random one first: the stdlib would pick one and
    then search all the text below it, attachments included, for a line that collides."""
    for part in msg.walk():
        if part.is_multipart() and part.get_boundary() is None:
            part.set_boundary(boundary())
    out = BytesIO()
    _Generator(out, mangle_from_=False, policy=policy).flatten(msg)
    return out.getvalue()


def boundary() -> str:
    """A MIME boundary no text will hold by chance: 128 random bits."""
    return f"=_{secrets.token_hex(16)}"


class _Generator(BytesGenerator):
    def _write_lines(self, lines: str) -> None:
        # The stdlib splits on CRLF, CR and LF and writes each line and self._NL apart.
        if "\r" in lines:
            lines = lines.replace("\r\n", "\n").replace("\r", "\n")
        if lines:
            self.write(lines.replace("\n", self._NL))
