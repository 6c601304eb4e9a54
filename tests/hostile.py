"""Generated hostile messages: each is valid enough to deserve an answer, and each once broke
or stalled a mail parser somewhere (issue 15). Built here, not stored: some are 50 MB."""

from __future__ import annotations

import base64

HEAD = (b"From: Customer <customer@kunde.example>\r\nTo: support@example.com\r\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n")


def _mail(subject: str, extra_headers: bytes = b"", body: bytes = b"Please help.\r\n",
          content_type: bytes = b"text/plain; charset=utf-8", msgid: str = "") -> bytes:
    msgid = msgid or f"<hostile-{abs(hash(subject)) % 10**9}@kunde.example>"
    return (HEAD + f"Subject: {subject}\r\nMessage-ID: {msgid}\r\n".encode() + extra_headers
            + b"MIME-Version: 1.0\r\nContent-Type: " + content_type + b"\r\n\r\n" + body)


def folded_encoded_words(size: int = 135_000) -> bytes:
    word = b" =?utf-8?q?M=C3=BCller_und_S=C3=B6hne?= <person@kunde.example>,\r\n"
    return _mail("Huge To header", b"Cc:" + word * (size // len(word)))


def many_addresses(count: int = 10_000) -> bytes:
    cc = b"Cc: " + b",\r\n ".join(b"p%d@kunde.example" % i for i in range(count)) + b"\r\n"
    return _mail("Ten thousand addresses", cc)


def long_line(size: int = 1_000_000) -> bytes:
    return _mail("One very long line", body=b"x" * size + b"\r\n")


def nul_bytes() -> bytes:
    return _mail("NUL\x00 in the subject", b"X-Note: a\x00b\r\n",
                 body=b"Text with \x00 NUL \x00 bytes.\r\n")


def deep_multipart(depth: int = 200) -> bytes:
    body = b"Please help.\r\n"
    ctype = b"text/plain"
    for i in range(depth):
        boundary = b"b%d" % i
        body = (b"--" + boundary + b"\r\nContent-Type: " + ctype + b"\r\n\r\n" + body
                + b"\r\n--" + boundary + b"--\r\n")
        ctype = b"multipart/mixed; boundary=" + boundary
    return _mail("Deeply nested multiparts", body=body, content_type=ctype)


def deep_rfc822(depth: int = 200) -> bytes:
    inner = b"Subject: innermost\r\n\r\nPlease help.\r\n"
    for _ in range(depth):
        inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
    return _mail("Deeply nested forwards", body=inner, content_type=b"message/rfc822")


def big_attachment(size: int = 50_000_000) -> bytes:
    payload = base64.encodebytes(b"\x89PNG" + b"\x00" * (size * 3 // 4))
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\nThe screenshot is attached.\r\n--b\r\n"
            b"Content-Type: image/png; name=shot.png\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=shot.png\r\n\r\n" + payload
            + b"--b--\r\n")
    return _mail("A big screenshot", body=body, content_type=b"multipart/mixed; boundary=b")


def endless_base64(size: int = 2_000_000) -> bytes:
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\nSee the log.\r\n--b\r\n"
            b"Content-Type: application/octet-stream; name=log.bin\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + b"QUFB" * (size // 4))
    return _mail("Base64 that never ends", body=body,
                 content_type=b"multipart/mixed; boundary=b")


HOSTILE = {
    "folded_encoded_words": folded_encoded_words, "many_addresses": many_addresses,
    "long_line": long_line, "nul_bytes": nul_bytes, "deep_multipart": deep_multipart,
    "deep_rfc822": deep_rfc822, "big_attachment": big_attachment,
    "endless_base64": endless_base64,
}
