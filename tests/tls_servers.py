"""TLS variants of the loopback servers: a private CA, Dovecot with STARTTLS and IMAPS, and
aiosmtpd with STARTTLS or implicit TLS and AUTH, so the clients' certificate checks are real."""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers import DovecotServer, SmtpSink, free_port


@dataclass(frozen=True)
class TestCA:
    ca_file: Path       # what clients trust
    cert_file: Path     # the server's certificate for 127.0.0.1 and localhost
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_ca(directory: Path) -> TestCA:
    """A throwaway CA and a server certificate it signed, made by the openssl command."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        "/CN=mailproc test CA", "-keyout", "ca.key", "-out", "ca.crt",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr")
    (d / "server.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.crt")
    return TestCA(d / "ca.crt", d / "server.crt", d / "server.key")


class TlsDovecot(DovecotServer):
    """Dovecot offering STARTTLS on `port` and implicit TLS on `imaps_port`."""

    def __init__(self, tmpdir: Path | str, port: int, ca: TestCA) -> None:
        super().__init__(tmpdir, port)
        self.ca = ca
        self.imaps_port = free_port()

    def config_text(self) -> str:
        text = super().config_text().replace("ssl = no\n", (
            f"ssl = yes\nssl_cert = <{self.ca.cert_file}\nssl_key = <{self.ca.key_file}\n"))
        return text.replace("  inet_listener imaps {\n    port = 0\n",
                            f"  inet_listener imaps {{\n    port = {self.imaps_port}\n")


class TlsSmtpSink(SmtpSink):
    """aiosmtpd that demands TLS (STARTTLS, or implicit with `implicit=True`) and AUTH."""

    def __init__(self, ca: TestCA, user: str, password: str, *, implicit: bool = False) -> None:
        super().__init__()
        self.ca, self.implicit = ca, implicit
        self.credentials = (user.encode(), password.encode())
        self.logins: list[tuple[str, bool]] = []

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            (auth_data.login, auth_data.password) == self.credentials)
        self.logins.append((auth_data.login.decode() if isinstance(auth_data, LoginPassword)
                            else "?", ok))
        return AuthResult(success=ok, handled=False)   # handled=False: aiosmtpd answers 535

    def controller_options(self) -> dict:
        tls = {"ssl_context": self.ca.server_context()} if self.implicit else {
            "tls_context": self.ca.server_context(), "require_starttls": True}
        # aiosmtpd knows TLS only from its own STARTTLS; on an implicit-TLS port every byte
        # is encrypted anyway, so AUTH is offered there without that check.
        return {**tls, "authenticator": self._authenticate, "auth_required": True,
                "auth_require_tls": not self.implicit}
