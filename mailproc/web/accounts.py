"""Web console users: argon2id passwords, sessions, one-time sign-in links, rate limits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from mailproc.cases.records import record_event
from mailproc.errors import MailprocError
from mailproc.models import LoginAttempt, SignInLink, User, WebSession
from mailproc.people.agents import Agent

if TYPE_CHECKING:
    from mailproc.app import App

ROLES = ("admin", "lead", "agent")
LOCK_AFTER = 10                         # wrong passwords in a row lock the account …
LOCK_FOR = timedelta(minutes=15)        # … for this long
ADDRESS_LIMIT = 30                      # failed sign-ins from one address per window
WINDOW = timedelta(minutes=15)
LINK_LIFETIME = timedelta(minutes=15)
LINKS_PER_WINDOW = 3                    # sign-in links mailed per account per window
SESSION_LIFETIME = timedelta(days=7)
SESSION_IDLE = timedelta(hours=12)
MIN_PASSWORD = 10

_hasher = PasswordHasher()              # argon2id with the library's (RFC 9106) parameters
# Verifying against this when the account does not exist costs the same as a real check.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AccountError(MailprocError):
    """A sign-in or account change that is refused; the message is safe to show."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the user, their role and the agent they act as in cases."""

    user_id: int
    email: str
    name: str
    role: str
    agent: Agent
    session_id: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_all(self) -> bool:
        return self.role in ("admin", "lead")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def normal_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or any(c.isspace() or ord(c) < 32 for c in email) or len(email) > 320:
        raise AccountError(f"not an email address: {email!r}")
    return email


def add_user(session: Session, email: str, *, role: str, name: str = "",
             password: str | None, actor: str, now: datetime) -> User:
    email = normal_email(email)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, role=role, name=name or email.split("@")[0], created_at=now)
        session.add(user)
    user.role, user.disabled = role, False
    if name:
        user.name = name
    if password is not None:
        user.password_hash = hash_password(password)
    session.flush()
    record_event(session, None, actor=actor, kind="user_saved",
                 detail=f"user {email} saved with role {role}", now=now,
                 data={"user": email, "role": role})
    return user


def agent_user(app: "App", session: Session, email: str, now: datetime) -> User | None:
    """The user of this address; a configured agent gets one (role agent) on first use."""
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email))
    if user is None and app.agents.by_address(email) is not None:
        agent = app.agents.by_address(email)
        user = User(email=email, role="agent", name=agent.name, created_at=now)
        session.add(user)
        session.flush()
    return user


def acting_agent(app: "App", user: User) -> Agent:
    """The configured agent of this user, or one made from the user for admins and leads."""
    agent = app.agents.by_address(user.email)
    if agent is not None:
        return agent
    return Agent(name=user.name or user.email, key=user.email.split("@")[0],
                 addresses=(user.email,))


def _failures(session: Session, column, value: str, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(LoginAttempt).where(
        column == value, LoginAttempt.ok.is_(False), LoginAttempt.at > now - WINDOW)) or 0


def check_password(session: Session, email: str, password: str, *, address: str,
                   now: datetime) -> tuple[User | None, str]:
    """(user, "") when the password is right, else (None, why): one message for every wrong
    case, so that it does not tell which accounts exist. The attempt is recorded in the
    caller's transaction, which must commit either way; LOCK_AFTER failures in a row lock the
    account for LOCK_FOR, and ADDRESS_LIMIT failures from one address stop that address."""
    email = email.strip().lower()[:320]
    if _failures(session, LoginAttempt.address, address, now) >= ADDRESS_LIMIT:
        return None, "too many failed sign-ins from your address: wait 15 minutes"
    user = session.scalar(select(User).where(User.email == email))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        session.add(LoginAttempt(at=now, email=email, address=address, ok=False))
        return None, ("this account is locked after too many wrong passwords: try again in "
                      "15 minutes or ask for a sign-in link")
    try:
        ok = _hasher.verify(user.password_hash if user is not None and user.password_hash
                            else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.password_hash is not None and not user.disabled
    session.add(LoginAttempt(at=now, email=email, address=address, ok=ok))
    if not ok:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= LOCK_AFTER:
                user.locked_until, user.failed_logins = now + LOCK_FOR, 0
                record_event(session, None, actor="mailproc", kind="user_locked",
                             detail=f"{email} locked for 15 minutes after {LOCK_AFTER} wrong "
                                    "passwords", now=now, data={"user": email})
        return None, "wrong email address or password"
    user.failed_logins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user, ""


def new_link(session: Session, user: User, now: datetime) -> str | None:
    """A one-time sign-in token for `user` (its hash stored), or None past the rate limit."""
    recent = session.scalar(select(func.count()).select_from(SignInLink).where(
        SignInLink.user_id == user.id, SignInLink.created_at > now - WINDOW)) or 0
    if recent >= LINKS_PER_WINDOW or user.disabled:
        return None
    token = secrets.token_urlsafe(32)
    session.add(SignInLink(id=token_hash(token), user_id=user.id, created_at=now,
                           expires_at=now + LINK_LIFETIME))
    return token


def use_link(session: Session, token: str, now: datetime) -> User:
    # A row lock would not help on SQLite; the conditional UPDATE makes "used once" atomic.
    used = session.execute(update(SignInLink).where(
        SignInLink.id == token_hash(token), SignInLink.used_at.is_(None),
        SignInLink.expires_at > now).values(used_at=now))
    link = session.get(SignInLink, token_hash(token)) if used.rowcount == 1 else None
    user = session.get(User, link.user_id) if link is not None else None
    if user is None or user.disabled:
        raise AccountError("this sign-in link is not valid any more: links work once, for "
                           "15 minutes; ask for a new one")
    user.failed_logins, user.locked_until = 0, None
    return user


def open_session(session: Session, user: User, *, address: str, user_agent: str,
                 now: datetime) -> str:
    """A new session for `user`; returns the token for the cookie (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    session.add(WebSession(id=token_hash(token), user_id=user.id, csrf=secrets.token_urlsafe(24),
                           created_at=now, last_seen_at=now, expires_at=now + SESSION_LIFETIME,
                           address=address[:64], user_agent=user_agent[:300]))
    user.last_login_at = now
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    return token


def find_session(session: Session, token: str, now: datetime) -> WebSession | None:
    row = session.get(WebSession, token_hash(token))
    if (row is None or row.revoked_at is not None or row.expires_at <= now
            or row.last_seen_at + SESSION_IDLE <= now or row.user.disabled):
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return row


def revoke_sessions(session: Session, *, user_id: int | None = None,
                    session_id: str | None = None, now: datetime) -> int:
    query = update(WebSession).where(WebSession.revoked_at.is_(None))
    if user_id is not None:
        query = query.where(WebSession.user_id == user_id)
    if session_id is not None:
        query = query.where(WebSession.id == session_id)
    return session.execute(query.values(revoked_at=now)).rowcount


def sign(secret: bytes, value: str) -> str:
    mac = hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{value}.{mac}"


def unsign(secret: bytes, signed: str) -> str | None:
    value, _, mac = signed.rpartition(".")
    return value if value and hmac.compare_digest(sign(secret, value), signed) else None


def set_disabled(session: Session, user: User, disabled: bool, *, actor: str,
                 now: datetime) -> None:
    user.disabled = disabled
    if disabled:
        revoke_sessions(session, user_id=user.id, now=now)
    record_event(session, None, actor=actor, kind="user_disabled" if disabled else "user_enabled",
                 detail=f"user {user.email} {'disabled' if disabled else 'enabled'}", now=now,
                 data={"user": user.email})


def unlock(session: Session, user: User, *, actor: str, now: datetime) -> None:
    user.locked_until, user.failed_logins = None, 0
    record_event(session, None, actor=actor, kind="user_unlocked",
                 detail=f"user {user.email} unlocked", now=now, data={"user": user.email})


def active_sessions(session: Session, now: datetime) -> dict[int, int]:
    """Open sessions per user id."""
    return dict(session.execute(select(WebSession.user_id, func.count()).where(
        WebSession.revoked_at.is_(None), WebSession.expires_at > now)
        .group_by(WebSession.user_id)).all())
