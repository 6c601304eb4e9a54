"""The console under test: an app with agents and a few cases, signed-in test clients, and a
real uvicorn server in a thread for the browser tests."""

from __future__ import annotations

import re
import socket
import threading
import time

import uvicorn
from starlette.testclient import TestClient

from mailproc.web.accounts import add_user
from mailproc.web.app import create_app
from tests.agent_helpers import agent_app, feed, mail

PASSWORD = "correct horse battery"
USERS = (("admin@example.com", "admin"), ("lead@example.com", "lead"),
         ("alice@example.com", "agent"), ("carol@example.com", "agent"))


def console_app(db, tmp_path, **sections):
    """Agents alice (helpdesk) and carol (billing), a user per role, two cases per team."""
    app = agent_app(db, tmp_path, **sections)
    app.db.upgrade()
    with app.db.transaction() as session:
        for email, role in USERS:
            add_user(session, email, role=role, password=PASSWORD, actor="test",
                     now=app.clock.now())
    feed(app,
         mail(frm="Maria Muster <maria@kunde.example>", subject="VPN drops every hour",
              body="Hello,\n\nmy VPN drops every hour since Monday.\n\nMaria"),
         mail(frm="Tom <tom@firma.example>", subject="Printer on floor 3 jams",
              body="The printer jams on every second page."),
         mail(frm="Olga <olga@shop.example>", subject="Refund for invoice 4711",
              body="Please refund invoice 4711, it was charged twice."),
         mail(frm="Piet <piet@shop.example>", subject="Invoice address wrong",
              body="The invoice shows our old address."))
    return app


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def client(app) -> TestClient:
    return TestClient(create_app(app), base_url="http://testserver", follow_redirects=False)


def signed_in(app, email: str, password: str = PASSWORD) -> TestClient:
    c = client(app)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"csrf": token, "email": email, "password": password,
                               "next": "/"})
    assert r.status_code == 303, r.text
    return c


def form_token(c: TestClient, path: str) -> str:
    r = c.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return csrf_of(r.text)


class ServerThread:
    """uvicorn serving the console on a free loopback port, in this process."""

    def __init__(self, app) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(create_app(app), host="127.0.0.1", port=self.port,
                                log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the console did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
