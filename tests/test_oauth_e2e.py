"""OAuth2 end to end, without the internet: the real `mailproc oauth login` (the device flow
signed in by the test, the loopback flow with PKCE driven by an HTTP client standing in for
the browser) against an Authlib authorization server on loopback whose tokens live seconds;
`mailproc run` then polls a Dovecot that checks every token at that server's introspection
endpoint and sends acknowledgements through an aiosmtpd that does the same, for several
token lives; the grant withdrawn is health down and one alert; signing in again mends it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mailproc import config
from mailproc.app import App
from mailproc.oauth.configured import configured, vault
from mailproc.oauth.grants import save_grant
from tests.fixtures_servers import running_dovecot
from tests.helpers import wait
from tests.oauth_server import (
    PUBLIC_CLIENT_ID, RESOURCE_CLIENT_ID, RESOURCE_CLIENT_SECRET, OAuthServer,
)
from tests.servers import SmtpSink
from tests.test_procfile import env_for

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

LIFETIME = 3          # seconds an access token lives
MAILBOX_USER, RELAY_USER = "support", "relay"


class Cli:
    """A running `mailproc …` whose output is read line by line as it comes."""

    def __init__(self, env: dict, *args: str) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen([sys.executable, "-m", "mailproc.cli.main", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match:
        return wait(lambda: next((m for m in map(re.compile(pattern).search, list(self.lines))
                                  if m), None), f"{pattern!r} from mailproc", timeout)

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        code = self.proc.wait(timeout)
        self._reader.join(5)                # every line read
        return code, "\n".join(self.lines)


def write_config(env: dict, server: OAuthServer, imap_port: int, sink: SmtpSink,
                 alerts: Path) -> None:
    path = Path(env["MAILPROC_CONFIG"])
    text = path.read_text()
    text, n = re.subn(r'\[\[mailboxes\]\]\nname = "demo"\n.*?team = "helpdesk"\n', (
        f'[[mailboxes]]\nname = "support"\ntype = "imap"\nhost = "127.0.0.1"\n'
        f'port = {imap_port}\nsecurity = "plain"\nuser = "{MAILBOX_USER}"\nauth = "oauth2"\n'
        f'team = "helpdesk"\n'
        f'[mailboxes.oauth2]\nclient_id = "{PUBLIC_CLIENT_ID}"\n'
        f'token_url = "{server.token_url}"\nscopes = ["imap"]\n'
        f'device_authorization_url = "{server.device_authorization_url}"\n'), text, flags=re.S)
    assert n == 1
    text = text.replace('transport = "file"', (
        f'transport = "smtp"\nhost = "{sink.host}"\nport = {sink.port}\ntls = "none"\n'
        f'user = "{RELAY_USER}"\nauth = "oauth2"'), 1)
    hook = f"{sys.executable} -c \"import sys; open({str(alerts)!r}, 'a').write(sys.stdin.read() + '\\\\n')\""
    text += (f'\n[outgoing.oauth2]\nclient_id = "{PUBLIC_CLIENT_ID}"\n'
             f'token_url = "{server.token_url}"\nscopes = ["smtp"]\nflow = "loopback"\n'
             f'authorization_url = "{server.authorization_url}"\n'
             f'\n[alerts]\ncommand = {json.dumps(hook)}\n')
    path.write_text(text)


def device_login(env: dict, server: OAuthServer) -> str:
    cli = Cli(env, "oauth", "login", "support", "--timeout", "60")
    (code,) = wait(server.pending_user_codes, "a device code at the server")
    assert cli.wait_for(r"and enter the code (\S+)").group(1) == code
    assert server.device_authorization_url.rsplit("/", 1)[0] in "\n".join(cli.lines)
    server.approve_device(code, MAILBOX_USER)
    status, output = cli.finish()
    assert status == 0, output
    assert "Signed in: mailbox:support as support" in output
    return output


def loopback_login(env: dict, server: OAuthServer) -> str:
    """The browser's part: open the printed address (the server has the person signed in),
    follow its redirect to mailproc's loopback listener."""
    server.browser_user = RELAY_USER
    cli = Cli(env, "oauth", "login", "--outgoing", "--no-browser", "--timeout", "60")
    url = cli.wait_for(re.escape(server.authorization_url) + r"\?\S+").group(0)
    assert "code_challenge_method=S256" in url and "code_challenge=" in url
    with httpx.Client() as browser:
        answer = browser.get(url)
        assert answer.status_code == 302
        back = answer.headers["location"]
        assert back.startswith("http://127.0.0.1:") and "code=" in back
        assert "Signed in" in browser.get(back).text
    status, output = cli.finish()
    assert status == 0, output
    return output


def customer_mail(n: int) -> bytes:
    return (f"From: Kim Kunde <kim{n}@kunde.example>\r\nTo: support@example.com\r\n"
            f"Subject: Printer {n} jams\r\nMessage-ID: <jam-{n}@kunde.example>\r\n"
            f"Date: Sun, 06 Dec 2026 09:0{n}:00 +0100\r\n\r\nPrinter {n} jams on every page.\r\n"
            ).encode()


def acked(sink: SmtpSink, n: int) -> bool:
    return any(m.rcpt_tos == (f"kim{n}@kunde.example",) for m in sink.messages)


def status_json(env: dict) -> dict:
    done = subprocess.run([sys.executable, "-m", "mailproc.cli.main", "oauth", "status",
                           "--json"], env=env, capture_output=True, text=True, timeout=60)
    return {g["name"]: g for g in json.loads(done.stdout)}


def doctor_oauth(env: dict) -> dict:
    done = subprocess.run([sys.executable, "-m", "mailproc.cli.main", "doctor", "--json"],
                          env=env, capture_output=True, text=True, timeout=120)
    checks = json.loads(done.stdout)
    checks = checks["checks"] if isinstance(checks, dict) else checks
    return {c["name"]: (c["ok"], c["detail"]) for c in checks if c["name"].startswith("oauth2")}


def alerts_for(path: Path, key: str) -> list[dict]:
    lines = [json.loads(x) for x in path.read_text().splitlines() if x] if path.exists() else []
    return [x for x in lines if x["key"] == key]


@pytest.fixture
def servers():
    with OAuthServer(access_lifetime=LIFETIME, device_interval=1) as server, \
            running_dovecot(introspection_url=server.introspection_url,
                            introspection_client=(RESOURCE_CLIENT_ID, RESOURCE_CLIENT_SECRET)
                            ) as dovecot:
        sink = SmtpSink(oauth_introspection=(server.introspection_url, RESOURCE_CLIENT_ID,
                                             RESOURCE_CLIENT_SECRET))
        sink.start()
        try:
            yield server, dovecot, sink
        finally:
            sink.stop()


def test_sign_in_poll_past_token_life_withdraw_and_sign_in_again(tmp_path, servers):
    server, dovecot, sink = servers
    dovecot.add_user(MAILBOX_USER, "only-for-the-test-to-append")
    env = env_for(tmp_path, None)
    env.pop("MAILPROC_NOW")
    alerts = tmp_path / "alerts.jsonl"
    write_config(env, server, dovecot.port, sink, alerts)

    before = status_json(env)
    assert {g["state"] for g in before.values()} == {"missing"}
    assert doctor_oauth(env) == {
        "oauth2 mailbox:support": (False, "never signed in: run `mailproc oauth login support`"),
        "oauth2 outgoing": (False, "never signed in: run `mailproc oauth login --outgoing`")}
    logins = device_login(env, server) + loopback_login(env, server)
    grants = status_json(env)
    assert grants["mailbox:support"]["state"] == grants["outgoing"]["state"] == "active"
    assert grants["outgoing"]["account"] == RELAY_USER
    assert {name: ok for name, (ok, _) in doctor_oauth(env).items()} == {
        "oauth2 mailbox:support": True, "oauth2 outgoing": True}

    log_path = tmp_path / "run.log"
    log = open(log_path, "wb")
    run = subprocess.Popen([sys.executable, "-m", "mailproc.cli.main", "--log-level", "debug",
                            "run", "--idle-timeout", "1"], env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    try:
        # Three mails, each after the last token has expired and the session was dropped:
        # every new IMAP and SMTP login needs a renewed token.
        for n in (1, 2, 3):
            dovecot.append(MAILBOX_USER, customer_mail(n))
            wait(lambda: acked(sink, n), f"the acknowledgement of mail {n}")
            time.sleep(LIFETIME + 0.5)
            dovecot.kick(MAILBOX_USER)
        grants = status_json(env)
        assert grants["mailbox:support"]["refreshes"] >= 2
        assert grants["outgoing"]["refreshes"] >= 2
        assert server.grants["refresh_token"] >= 4
        assert {user for _, user in sink.logins} == {RELAY_USER}
        assert {mechanism for mechanism, _ in sink.logins} == {"OAUTHBEARER"}
        text = log_path.read_text()
        assert "refused the OAuth2 token" not in text and "login refused" not in text

        # The admin withdraws the mailbox's consent: the next login fails, the renewal is
        # refused, the grant is revoked, its health down, one alert names the command.
        server.revoke_user(MAILBOX_USER)
        dovecot.kick(MAILBOX_USER)
        dovecot.append(MAILBOX_USER, customer_mail(4))
        key = "oauth2:mailbox:support"
        (alert,) = wait(lambda: alerts_for(alerts, key), "the alert", timeout=60)
        assert alert["event"] == "outage" and alert["command"] == "mailproc oauth login support"
        assert status_json(env)["mailbox:support"]["state"] == "revoked"
        time.sleep(4)                                            # several more sweeps
        assert len(alerts_for(alerts, key)) == 1
        assert not acked(sink, 4)

        device_login(env, server)
        wait(lambda: acked(sink, 4), "the acknowledgement of mail 4 after signing in again",
             timeout=90)
        wait(lambda: [a for a in alerts_for(alerts, key) if a["event"] == "recovery"],
             "the recovery notice")
    finally:
        run.terminate()
        run.wait(timeout=30)
        log.close()
    text = log_path.read_text()
    assert run.returncode in (0, -15), text[-3000:]
    secrets = server.issued_secrets()
    assert secrets and not any(s in text or s in logins for s in secrets)


def test_a_declined_sign_in_and_a_forged_redirect_are_refused(tmp_path):
    env = env_for(tmp_path, None)
    with OAuthServer(device_interval=1) as server:
        write_config(env, server, 1, SmtpSink(), tmp_path / "alerts.jsonl")
        cli = Cli(env, "oauth", "login", "support", "--timeout", "60")
        (code,) = wait(server.pending_user_codes, "a device code at the server")
        server.deny_device(code)
        status, output = cli.finish()
        assert status == 1 and "the provider refused the sign-in: access_denied" in output

        cli = Cli(env, "oauth", "login", "--outgoing", "--no-browser", "--timeout", "60")
        url = cli.wait_for(re.escape(server.authorization_url) + r"\?\S+").group(0)
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        assert redirect.startswith("http://127.0.0.1:")
        # Someone else's page sends the browser to our listener with a code of its own.
        httpx.get(redirect, params={"code": "attacker-code", "state": "forged"})
        status, output = cli.finish()
        assert status == 1 and "state does not match" in output
        assert server.grants["authorization_code"] == 0
        assert status_json(env)["outgoing"]["state"] == "missing"


def test_refresh_now_and_logout(tmp_path):
    env = env_for(tmp_path, None)
    with OAuthServer() as server:
        write_config(env, server, 1, SmtpSink(), tmp_path / "alerts.jsonl")
        assert status_json(env)["mailbox:support"]["state"] == "missing"   # makes the schema
        settings = config.load(env["MAILPROC_CONFIG"], env=env)
        app = App.create(settings)
        c = configured(app, "support")
        save_grant(app.db, vault(app), c.name, c.endpoints, c.account,
                   server.issue_token(MAILBOX_USER, "imap"), datetime.now(timezone.utc))
        done = Cli(env, "oauth", "refresh", "support").finish()
        assert done == (0, "renewed mailbox:support")
        assert server.grants["refresh_token"] == 1
        assert status_json(env)["mailbox:support"]["refreshes"] == 1
        status, output = Cli(env, "oauth", "logout", "support").finish()
        assert status == 0 and "forgot mailbox:support" in output
        assert status_json(env)["mailbox:support"]["state"] == "missing"
        status, output = Cli(env, "oauth", "logout", "support").finish()
        assert status == 1 and "no grant mailbox:support is stored" in output
        status, output = Cli(env, "oauth", "login", "support", "--outgoing").finish()
        assert status == 2 and "name a MAILBOX or give --outgoing" in output
