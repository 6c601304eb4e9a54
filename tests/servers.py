"""Real loopback servers for the tests: a throwaway Dovecot, an aiosmtpd sink with scripted errors."""

from __future__ import annotations

import base64
import binascii
import email
import json
import email.message
import email.policy
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlparse
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, Session
from imapclient import IMAPClient

log = logging.getLogger(__name__)

# The verified recipe of shared/ref/dovecot-test.conf (see its header for why each line is there),
# inlined so a fresh clone works without it, with three changes: no auth failure delay or penalty,
# an OAuth2 passdb for XOAUTH2, and one passwd-file per user. Dovecot re-stats a shared passwd-file at most once a second, so a
# user added right after another login would be refused; a file it never opened is read at once.
_DOVECOT_TEMPLATE = """\
protocols = imap
listen = 127.0.0.1
base_dir = @DIR@/run
state_dir = @DIR@/state
instance_name = mailproc-test-@PORT@
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
log_path = @DIR@/dovecot.log
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 0
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u @DIR@/users.d/%u
}
# OAuth2 tokens are checked against the harness's tokeninfo endpoint on loopback
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = @DIR@/dovecot-oauth2.conf.ext
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=@DIR@/mail/%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    port = @PORT@
  }
  inet_listener imaps {
    port = 0
  }
}
# Failed logins are test cases here, not attacks: no 2 s reply delay, no growing per-IP penalty
# (which would slow every later login from 127.0.0.1 for up to 15 s).
auth_failure_delay = 0
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_answers(host: str, port: int, banner: bytes) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.settimeout(1.0)
            return sock.recv(200).startswith(banner)
    except OSError:
        return False


class _TokenInfo(BaseHTTPRequestHandler):
    """Stands in for an OAuth2 provider's tokeninfo endpoint: known token -> its user, else 401."""

    tokens: dict[str, str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        query = parse_qs(urlparse(self.path).query)
        user = self.server.tokens.get((query.get("access_token") or [""])[0])
        body = json.dumps({"username": user, "active": "true"} if user else {"error": "invalid_token"}).encode()
        self.send_response(200 if user else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # keep tokens out of test output
        pass


class DovecotServer:
    """One private Dovecot instance on a loopback port; never touches a system Dovecot."""

    host = "127.0.0.1"

    def __init__(self, tmpdir: Path | str, port: int, *, introspection_url: str | None = None,
                 introspection_client: tuple[str, str] | None = None) -> None:
        """With `introspection_url` (and the resource server's `introspection_client` id and secret)
        the oauth2 passdb asks that RFC 7662 endpoint about every token (tests.oauth_server);
        without it, a harness tokeninfo server knows the tokens given to add_oauth2_token()."""
        self.dir = Path(tmpdir)
        self.port = port
        self.introspection_url = introspection_url
        self.introspection_client = introspection_client
        self.conf = self.dir / "dovecot.conf"
        self.log_path = self.dir / "dovecot.log"
        self.users_dir = self.dir / "users.d"
        self._passwords: dict[str, str] = {}
        self._lock = threading.Lock()
        self._tokeninfo: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout: float = 15.0) -> None:
        binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
        if binary is None:
            raise RuntimeError(
                "dovecot is not installed: run `make services` or "
                "`apt-get update && apt-get install -y dovecot-imapd`"
            )
        if os.geteuid() != 0:
            raise RuntimeError("the test Dovecot must be started as root (it drops to the dovecot user)")
        for name in ("dovecot", "dovenull"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                raise RuntimeError(f"system user {name!r} missing: reinstall dovecot-core") from None
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        mail = self.dir / "mail"
        mail.mkdir(exist_ok=True)
        shutil.chown(mail, "dovecot", "dovecot")
        self.users_dir.mkdir(exist_ok=True)
        if self.introspection_url is None:
            self._tokeninfo = ThreadingHTTPServer(("127.0.0.1", 0), _TokenInfo)
            self._tokeninfo.tokens = {}
            self._tokeninfo.daemon_threads = True
            threading.Thread(target=self._tokeninfo.serve_forever, name="tokeninfo", daemon=True).start()
        (self.dir / "dovecot-oauth2.conf.ext").write_text(self._oauth2_config())
        self.conf.write_text(self.config_text())
        # Not capture_output: the daemonized master inherits the pipes and run() would never return.
        errors = self.dir / "start.err"
        with errors.open("wb") as err:
            proc = subprocess.run([binary, "-c", str(self.conf)], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=err)
        if proc.returncode != 0:
            raise RuntimeError(
                f"dovecot failed to start (exit {proc.returncode}): "
                f"{errors.read_text(errors='replace').strip()}\n{self.log_tail()}"
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _port_answers(self.host, self.port, b"* OK"):
                log.info("test dovecot up on %s:%d in %s", self.host, self.port, self.dir)
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"dovecot did not answer on {self.host}:{self.port} within {timeout:.0f}s; "
            f"is the port taken or the config invalid? Last log lines:\n{self.log_tail()}"
        )

    def _oauth2_config(self) -> str:
        """dovecot-oauth2.conf.ext: ask the harness tokeninfo server, or the introspection endpoint."""
        if self.introspection_url is None:
            return (f"tokeninfo_url = http://127.0.0.1:{self._tokeninfo.server_address[1]}/tokeninfo?access_token=\n"
                    "username_attribute = username\n")
        # Dovecot sends the URL's userinfo as HTTP Basic auth and the token as a form field
        # (token=...), as RFC 7662 asks; no auth_cache_size is set, so every login asks afresh.
        url = urlparse(self.introspection_url)
        if self.introspection_client is not None:
            client_id, secret = (quote(part, safe="") for part in self.introspection_client)
            url = url._replace(netloc=f"{client_id}:{secret}@{url.netloc}")
        return (f"introspection_mode = post\nintrospection_url = {url.geturl()}\n"
                "username_attribute = username\nactive_attribute = active\nactive_value = true\n")

    def config_text(self) -> str:
        """The dovecot.conf of this instance (a TLS variant adds its certificate)."""
        return _DOVECOT_TEMPLATE.replace("@DIR@", str(self.dir)).replace("@PORT@", str(self.port))

    def stop(self, timeout: float = 10.0) -> None:
        if self._tokeninfo is not None:
            self._tokeninfo.shutdown()
            self._tokeninfo.server_close()
            self._tokeninfo = None
        pid_file = self.dir / "run" / "master.pid"
        pid = int(pid_file.read_text().strip()) if pid_file.exists() else None
        subprocess.run(["dovecot", "-c", str(self.conf), "stop"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while pid is not None and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        if pid is not None:
            raise RuntimeError(f"dovecot master {pid} did not stop within {timeout:.0f}s")

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return "(no dovecot.log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # -- accounts and mail -----------------------------------------------------------------
    def add_user(self, name: str, password: str) -> None:
        if not name or "/" in name or ":" in name or name.startswith("."):
            raise ValueError(f"unusable test user name {name!r}")
        with self._lock:
            if name in self._passwords:
                raise ValueError(f"user {name!r} exists already (Dovecot caches its file)")
            self._passwords[name] = password
            (self.users_dir / name).write_text(f"{name}:{{PLAIN}}{password}\n")

    def add_oauth2_token(self, user: str, token: str) -> None:
        """Make `token` a valid OAuth2 access token for `user` (XOAUTH2 / OAUTHBEARER logins)."""
        if self._tokeninfo is None:
            raise RuntimeError("add_oauth2_token needs a started DovecotServer without introspection_url")
        self._tokeninfo.tokens[token] = user

    def client(self, user: str, timeout: float = 10.0) -> IMAPClient:
        """A logged-in IMAPClient for `user` (caller logs out)."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        client.login(user, self._passwords[user])
        return client

    def append(
        self,
        user: str,
        raw: bytes,
        folder: str = "INBOX",
        flags: tuple[str, ...] | list[str] = (),
        msg_time: datetime | None = None,
    ) -> int:
        """APPEND `raw` to `folder` (created if missing) over a real login; returns the new UID."""
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            resp = client.append(folder, raw, flags=tuple(flags), msg_time=msg_time)
        finally:
            client.logout()
        # "[APPENDUID <uidvalidity> <uid>] Append completed." (Dovecot has UIDPLUS)
        text = resp.decode() if isinstance(resp, bytes) else str(resp)
        return int(text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """Where Dovecot keeps `folder` of `user` on disk (for tests that corrupt a message)."""
        root = self.dir / "mail" / user / "Maildir"
        return root if folder.upper() == "INBOX" else root / f".{folder}"

    def kick(self, user: str) -> None:
        """Disconnect every IMAP session of `user` (simulates a dropped connection)."""
        subprocess.run(["doveadm", "-c", str(self.conf), "kick", user], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True, timeout=10)


@dataclass
class ImapAccount:
    """A fresh user on the session Dovecot: what a test needs to reach its own mailbox."""

    server: DovecotServer
    user: str
    password: str

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def append(self, raw: bytes, folder: str = "INBOX", flags=(), msg_time: datetime | None = None) -> int:
        return self.server.append(self.user, raw, folder=folder, flags=flags, msg_time=msg_time)

    def client(self) -> IMAPClient:
        return self.server.client(self.user)

    def maildir(self, folder: str = "INBOX") -> Path:
        return self.server.maildir(self.user, folder)

    def kick(self) -> None:
        self.server.kick(self.user)

    def add_oauth2_token(self, token: str) -> None:
        self.server.add_oauth2_token(self.user, token)

    def uids(self, folder: str = "INBOX") -> list[int]:
        client = self.client()
        try:
            client.select_folder(folder, readonly=True)
            return sorted(client.search(["ALL"]))
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """UID -> flags (as str) of every message in `folder`."""
        client = self.client()
        try:
            client.select_folder(folder, readonly=True)
            got = client.get_flags(client.search(["ALL"]))
            return {uid: {f.decode() if isinstance(f, bytes) else f for f in fl} for uid, fl in got.items()}
        finally:
            client.logout()


# -- SMTP ------------------------------------------------------------------------------------

DROP = "DROP"
"""A scripted reply that closes the connection instead of answering."""


@dataclass(frozen=True)
class CapturedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: email.message.EmailMessage = field(compare=False)
    mail_options: tuple[str, ...] = ()


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address, rcpt_options):
        reply = self.sink._next_reply("rcpt")
        if reply == DROP:
            server.transport.abort()
            return "421 4.4.2 dropped"
        if reply is not None and not reply.startswith("2"):
            return reply
        envelope.rcpt_tos.append(address)
        return reply or "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope):
        reply = self.sink._next_reply("data")
        if reply == DROP:
            server.transport.abort()
            return "421 4.4.2 dropped"
        if reply is not None and not reply.startswith("2"):
            return reply
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        captured = CapturedMessage(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message=email.message_from_bytes(raw, policy=email.policy.default),
            mail_options=tuple(envelope.mail_options),
        )
        self.sink._capture(captured)
        return reply or "250 2.0.0 OK"


# What providers answer a bad bearer token with, base64 in a 334 challenge; the client then sends
# an empty line (XOAUTH2, as Gmail expects) or %x01 (OAUTHBEARER, RFC 7628 §3.2.3) and gets a 535.
_BEARER_ERRORS = {
    "XOAUTH2": {"status": "401", "schemes": "bearer", "scope": "imap smtp"},
    "OAUTHBEARER": {"status": "invalid_token", "scope": "imap smtp"},
}


def _parse_bearer(mechanism: str, blob: bytes) -> tuple[str | None, str] | None:
    """(user, token) from an XOAUTH2 or OAUTHBEARER client response, None when malformed.

    XOAUTH2: "user=U^Aauth=Bearer T^A^A"; OAUTHBEARER (RFC 7628): "n,a=U,^Aauth=Bearer T^A^A",
    where the authzid a= may be left out.
    """
    head, *pairs = blob.decode("utf-8", "replace").split("\x01")
    fields = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    scheme, _, token = fields.get("auth", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    if mechanism == "XOAUTH2":
        return (head[5:], token) if head.startswith("user=") and len(head) > 5 else None
    gs2 = head.split(",")
    if len(gs2) < 3 or gs2[0] not in ("n", "y"):
        return None
    authzid = gs2[1][2:].replace("=2C", ",").replace("=3D", "=") if gs2[1].startswith("a=") else None
    return authzid, token


class _OAuthSinkHandler(_SinkHandler):
    """The sink plus AUTH XOAUTH2 and OAUTHBEARER, every token asked about by RFC 7662 introspection."""

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802 (aiosmtpd's naming)
        return await self._bearer_login(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        return await self._bearer_login(server, args, "OAUTHBEARER")

    async def _bearer_login(self, server: SMTP, args: list[str], mechanism: str) -> AuthResult:
        if len(args) == 1:  # no initial response: ask for it
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False)  # challenge_auth answered already
        else:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False)
        parsed = _parse_bearer(mechanism, blob)
        user = await self._token_user(*parsed) if parsed else None
        if user is not None:
            self.sink._login(mechanism, user)
            return AuthResult(success=True, auth_data=user)
        if await server.challenge_auth(json.dumps(_BEARER_ERRORS[mechanism])) is MISSING:
            return AuthResult(success=False)
        return AuthResult(success=False, handled=False)  # aiosmtpd answers 535 5.7.8

    async def _token_user(self, user: str | None, token: str) -> str | None:
        """The token's user when the authorization server says it is active and it is `user`'s."""
        url, client_id, secret = self.sink.oauth_introspection
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
            response = await client.post(url, data={"token": token, "token_type_hint": "access_token"},
                                         auth=(client_id, secret))
        claims = response.json() if response.status_code == 200 else {}
        if claims.get("active") is not True or (user is not None and claims.get("username") != user):
            return None
        return claims.get("username")


class SmtpSink:
    """aiosmtpd on a fixed loopback port that keeps every message; replies can be scripted.

    `script("rcpt"|"data", *replies)` queues replies used one per RCPT / DATA command, e.g.
    "451 4.3.0 try later", "550 5.1.1 no such user" or DROP; once the queue is empty the sink
    accepts normally. stop() and start() reuse the same port to simulate an outage.

    `oauth_introspection=(introspection_url, client_id, client_secret)` makes it a submission
    server that wants AUTH XOAUTH2 or OAUTHBEARER (no TLS) before MAIL and checks each token at
    that RFC 7662 endpoint (tests.oauth_server); `logins` lists the (mechanism, user) accepted.
    `oauth_mechanisms` narrows what it offers (Microsoft's servers offer only XOAUTH2).
    """

    host = "127.0.0.1"

    def __init__(self, port: int | None = None, *, smtputf8: bool = True,
                 oauth_introspection: tuple[str, str, str] | None = None,
                 oauth_mechanisms: tuple[str, ...] = ("OAUTHBEARER", "XOAUTH2")) -> None:
        self.port = port or free_port()
        self.oauth_mechanisms = oauth_mechanisms
        self.smtputf8 = smtputf8  # False: a relay without RFC 6531 support
        self.oauth_introspection = oauth_introspection
        self.messages: list[CapturedMessage] = []
        self.logins: list[tuple[str, str]] = []
        self._replies: dict[str, deque[str]] = {"rcpt": deque(), "data": deque()}
        self._cond = threading.Condition()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is not None:
            return
        handler = (_SinkHandler if self.oauth_introspection is None else _OAuthSinkHandler)(self)
        controller = Controller(
            handler, hostname=self.host, port=self.port, enable_SMTPUTF8=self.smtputf8, ready_timeout=10.0,
            **self.controller_options(),
        )
        try:
            controller.start()
        except Exception as exc:
            raise RuntimeError(f"SMTP sink could not listen on {self.host}:{self.port}: {exc}") from exc
        self._controller = controller

    def controller_options(self) -> dict:
        """Extra aiosmtpd Controller/SMTP arguments (TLS, AUTH) of a variant sink."""
        if self.oauth_introspection is None:
            return {}
        hidden = [m for m in ("OAUTHBEARER", "XOAUTH2") if m not in self.oauth_mechanisms]
        return {"auth_required": True, "auth_require_tls": False,
                "auth_exclude_mechanism": ["PLAIN", "LOGIN", *hidden]}

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def script(self, command: str, *replies: str) -> None:
        with self._cond:
            self._replies[command].extend(replies)

    def _next_reply(self, command: str) -> str | None:
        with self._cond:
            queue = self._replies[command]
            return queue.popleft() if queue else None

    def _capture(self, message: CapturedMessage) -> None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def _login(self, mechanism: str, user: str) -> None:
        with self._cond:
            self.logins.append((mechanism, user))

    def wait_for(self, n: int, timeout: float = 5.0) -> list[CapturedMessage]:
        """Block until at least `n` messages arrived; raise TimeoutError with what did arrive."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= n, timeout=timeout):
                raise TimeoutError(f"SMTP sink got {len(self.messages)} of {n} messages in {timeout}s")
            return list(self.messages)

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()
            for queue in self._replies.values():
                queue.clear()


def make_dovecot_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="mailproc-dovecot-"))
