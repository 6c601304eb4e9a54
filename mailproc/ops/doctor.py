"""Health checks for `mailproc doctor`: config, database, mailboxes, SMTP, Redis, templates."""

from __future__ import annotations

import smtplib
import socket
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from mailproc.app import App
from mailproc.db import current_revision, head_revision
from mailproc.delivery.dkim import configured_key, load_signer, record_value
from mailproc.errors import ConfigError, MailprocError
from mailproc.oauth.configured import configured, oauth_places
from mailproc.oauth.grants import grant_name, list_grants, login_command
from mailproc.ops.domain import check_domain
from mailproc.runners.jobs import queue_status
from mailproc.source.factory import build_source
from mailproc.templating.check import check_templates


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    warn: bool = False      # works, but probably not as the admin meant: said, not failed


def run_checks(app: App) -> list[Check]:
    checks = [Check("config", True, app.settings.config_path or "(defaults)")]
    checks.append(_database(app))
    for box in app.settings.mailboxes:
        checks.append(_mailbox(app, box))
        if not box.team and app.agents.agents:
            checks.append(Check(f"mailbox {box.name} team", True, warn=True, detail=(
                "no team: its new cases are assigned to nobody and no agent is notified "
                "unless a team's route matches (set team in [[mailboxes]], or "
                "MAILPROC_IMAP_TEAM)")))
    checks.append(_outgoing(app))
    checks.extend(_oauth(app))
    if app.settings.redis_url:
        checks.append(_redis(app))
    checks.extend(_templates(app))
    if not app.settings.secret_key:
        checks.append(Check("secret key", True,
                            "MAILPROC_SECRET_KEY unset: using a generated key in var/ "
                            "(set it in production so every process signs alike)"))
    checks.append(_retention(app))
    if app.settings.outgoing.dkim.domain or app.settings.outgoing.dkim.selector:
        checks.append(_dkim(app))
    if app.settings.outgoing.transport == "smtp":
        checks.extend(_domain(app))
    return checks


def _domain(app: App) -> list[Check]:
    """MX, SPF, DKIM and DMARC of the support address's domain, for mail that is sent."""
    out, dkim_record = app.settings.outgoing, ""
    try:
        pem = configured_key(app.settings)
        dkim_record = record_value(pem) if pem else ""
    except ConfigError:
        pass                        # the dkim check above says what is wrong with the key
    found = check_domain(address=app.settings.support.address, relay_host=out.host,
                         dkim_domain=out.dkim.domain if dkim_record else "",
                         dkim_selector=out.dkim.selector, dkim_record=dkim_record,
                         nameserver=app.settings.dns_server or None)
    return [Check(c.name, c.ok, c.detail, warn=c.warn) for c in found]


def _dkim(app: App) -> Check:
    try:
        signer = load_signer(app.settings)
    except ConfigError as exc:
        return Check("dkim", False, str(exc))
    return Check("dkim", True, f"signs as d={signer.domain} s={signer.selector} "
                               f"({signer.algorithm.decode()}); publish `mailproc dkim record`")


def _retention(app: App) -> Check:
    rules = app.settings.retention
    kept = {k: getattr(rules, k) for k in ("raw_mail_days", "closed_case_days",
                                           "quarantine_days")}
    if not any(kept.values()):
        return Check("retention", True, warn=True, detail=(
            "everything is kept for ever: set [retention] raw_mail_days, closed_case_days "
            "and quarantine_days to what your data-protection rules allow"))
    return Check("retention", True, ", ".join(
        f"{k.removesuffix('_days').replace('_', ' ')} {v} days" if v else
        f"{k.removesuffix('_days').replace('_', ' ')} for ever" for k, v in kept.items()))


def _database(app: App) -> Check:
    try:
        current, head = current_revision(app.db.engine), head_revision(app.db.engine)
    except Exception as exc:  # noqa: BLE001 - any driver error is the finding itself
        return Check("database", False, f"cannot connect: {type(exc).__name__}: {exc}"[:300])
    if current != head:
        return Check("database", False, f"schema at {current or 'nothing'}, expected {head}: "
                                        "run `mailproc db upgrade`")
    return Check("database", True, f"{app.db.engine.dialect.name}, schema {current}")


def _mailbox(app: App, box) -> Check:
    name = f"mailbox {box.name}"
    if box.type == "maildir":
        path = app.settings.resolve(box.path)
        ok = path.is_dir() or bool(box.seed_from)
        return Check(name, ok, f"maildir {path}" + ("" if ok else " does not exist"))
    try:
        source = build_source(app, box)
        source.check()
        source.close()
    except MailprocError as exc:
        return Check(name, False, str(exc))
    except OSError as exc:
        return Check(name, False, f"{box.host}:{box.port}: {exc}")
    return Check(name, True, f"imap {box.user}@{box.host}:{box.port} logged in")


def _outgoing(app: App) -> Check:
    out = app.settings.outgoing
    if out.transport == "file":
        return Check("outgoing", True, f"file transport into {app.var / out.file_dir}")
    try:
        with smtplib.SMTP(out.host, out.port, timeout=10) as smtp:
            code, _ = smtp.ehlo()
        return Check("outgoing", code == 250, f"smtp {out.host}:{out.port} EHLO {code}")
    except (OSError, smtplib.SMTPException) as exc:
        return Check("outgoing", False, f"smtp {out.host}:{out.port}: {exc}")


def _oauth(app: App) -> list[Check]:
    """Every place that signs in with OAuth2: its settings make sense and its grant works."""
    found: list[Check] = []
    places = oauth_places(app.settings)
    if not places:
        return found
    try:
        grants = {g.name: g for g in list_grants(app.db)}
    except SQLAlchemyError:
        return [Check("oauth2", False, "the grants cannot be read: bring the database up to "
                                       "date first (`mailproc db upgrade`)")]
    for mailbox in places:
        name = grant_name(mailbox)
        try:
            configured(app, mailbox)
        except ConfigError as exc:
            found.append(Check(f"oauth2 {name}", False, str(exc)))
            continue
        grant = grants.get(name)
        if grant is None or grant.state != "active":
            found.append(Check(f"oauth2 {name}", False, (grant.problem if grant else
                                                         "never signed in") +
                               f": run `{login_command(name)}`"))
        else:
            found.append(Check(f"oauth2 {name}", True, f"{grant.account} ({grant.provider}), "
                               f"access until {grant.expires_at:%Y-%m-%d %H:%M} UTC, "
                               f"{grant.refreshes} renewals"))
    return found


def _redis(app: App) -> Check:
    import redis

    try:
        redis.Redis.from_url(app.settings.redis_url, socket_timeout=5).ping()
    except (redis.RedisError, socket.error) as exc:
        return Check("redis", False, f"{type(exc).__name__}: {exc}")
    detail = "ping ok"
    failed = queue_status(app).get("failed", 0)
    if failed:
        return Check("redis", False, f"ping ok, {failed} failed job(s): see `mailproc status`")
    return Check("redis", True, detail)


def _templates(app: App) -> list[Check]:
    problems = check_templates(app)
    if problems:
        return [Check("templates", False, p) for p in problems]
    return [Check("templates", True, "all templates render")]
