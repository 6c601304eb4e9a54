"""Settings: a TOML file in layers (defaults, file, environment) -> frozen dataclasses; secrets from env."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Literal, Mapping

from mailproc.config_schema import build
from mailproc.errors import ConfigError

DEFAULT_CONFIG = Path("config/mailproc.toml")


@dataclass(frozen=True)
class SupportSettings:
    address: str = "support@example.com"
    name: str = "Support"
    fallback_phone: str = ""
    language: Literal["en", "de"] = "en"
    ref_base: int = 1000
    urgent_hint: str = ("If your work is blocked right now, reply with URGENT in the subject "
                        "or call us.")
    # Region for phone numbers written without a country code (ISO 3166, e.g. DE, US).
    phone_region: str = "DE"
    # Where case links point; empty means references only.
    case_url: str = ""
    # Addresses that are ours too (aliases); mail from them is never acknowledged.
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class StorageSettings:
    var_dir: str = "var"
    max_message_bytes: int = 100_000_000
    # Raw messages above this size go to var/blobs/ instead of the database.
    blob_threshold_bytes: int = 1_000_000


@dataclass(frozen=True)
class OAuth2Settings:
    # `auth = "oauth2"`: a grant made once by `mailproc oauth login`, kept encrypted in the
    # database and refreshed before it expires (mailproc.oauth). Empty values take the
    # provider's: endpoints and scopes for microsoft and google, a device flow for microsoft,
    # a loopback redirect with PKCE for google (and for generic without a device endpoint).
    provider: Literal["microsoft", "google", "generic"] = "generic"
    client_id: str = ""
    client_secret_env: str = ""
    client_secret_command: str = ""
    tenant: str = "organizations"  # microsoft: a tenant id or domain, organizations or common
    flow: Literal["", "device", "loopback"] = ""
    scopes: tuple[str, ...] = ()
    authorization_url: str = ""
    token_url: str = ""
    device_authorization_url: str = ""
    revocation_url: str = ""


@dataclass(frozen=True)
class MailboxSettings:
    name: str
    type: Literal["maildir", "imap"] = "maildir"
    # maildir
    path: str = ""
    seed_from: str = ""
    # imap
    host: str = ""
    port: int = 993
    user: str = ""
    security: Literal["tls", "starttls", "plain"] = "tls"
    ca_file: str = ""  # a PEM file of CAs to trust besides the system's (a private CA)
    # password; xoauth2: an access token from oauth2_token_env/_command that someone else
    # keeps fresh; oauth2: mailproc's own grant ([mailboxes.oauth2], `mailproc oauth login`)
    auth: Literal["password", "xoauth2", "oauth2"] = "password"
    password_env: str = ""
    password_command: str = ""
    oauth2_token_env: str = ""
    oauth2_token_command: str = ""
    oauth2: OAuth2Settings = field(default_factory=OAuth2Settings)
    folder: str = "INBOX"
    processed_action: Literal["flag", "move"] = "flag"
    processed_flag: str = "$MailprocProcessed"
    move_to: str = "Processed"
    batch_size: int = 200
    use_idle: bool = True
    default_priority: str = "normal"
    team: str = ""


@dataclass(frozen=True)
class DkimSettings:
    # Sign every outgoing mail as d=domain, s=selector (mailproc.delivery.dkim); the key from
    # exactly one of a PEM file, an environment variable or a command.
    domain: str = ""
    selector: str = ""
    key_file: str = ""
    key_env: str = ""
    key_command: str = ""


@dataclass(frozen=True)
class OutgoingSettings:
    transport: Literal["file", "smtp"] = "file"
    file_dir: str = "outbox"
    host: str = "localhost"
    port: int = 587
    user: str = ""
    auth: Literal["password", "oauth2"] = "password"
    oauth2: OAuth2Settings = field(default_factory=OAuth2Settings)
    password_env: str = ""
    password_command: str = ""
    tls: Literal["starttls", "tls", "none"] = "starttls"
    ca_file: str = ""  # a PEM file of CAs to trust besides the system's (a private CA)
    timeout_seconds: float = 30.0
    max_attempts: int = 8
    retry_base: str = "30s"
    retry_cap: str = "1h"
    # Notifications to agents carry the customer's attachments up to this many bytes in all
    # (many servers refuse mail over 10-25 MB); the rest are listed, kept with the case.
    notify_attachments_bytes: int = 10_000_000
    dkim: DkimSettings = field(default_factory=DkimSettings)


@dataclass(frozen=True)
class ThreadingSettings:
    subject_window: str = "14d"
    reopen_closed_within: str = "30d"


@dataclass(frozen=True)
class AckSettings:
    enabled: bool = True
    per_sender_per_hour: int = 5
    undeliverable_for: str = "7d"


@dataclass(frozen=True)
class RetentionSettings:
    # Days to keep, applied by the sweep; 0 keeps for ever (the default, and doctor says so).
    raw_mail_days: int = 0        # raw bytes of processed mail (the parsed message stays)
    closed_case_days: int = 0     # a closed case's words and files (its skeleton stays)
    quarantine_days: int = 0      # quarantined mail, bytes and entry


@dataclass(frozen=True)
class WebSettings:
    """`mailproc web`: where it listens and the address people reach it at (sign-in links)."""

    url: str = "http://127.0.0.1:8025"   # the console's address as people open it
    host: str = "127.0.0.1"
    port: int = 8025


@dataclass(frozen=True)
class Settings:
    support: SupportSettings = field(default_factory=SupportSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    mailboxes: tuple[MailboxSettings, ...] = ()
    outgoing: OutgoingSettings = field(default_factory=OutgoingSettings)
    threading: ThreadingSettings = field(default_factory=ThreadingSettings)
    ack: AckSettings = field(default_factory=AckSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    web: WebSettings = field(default_factory=WebSettings)
    # Sections owned by later modules are kept as raw tables and validated there.
    calendar: Mapping[str, object] = field(default_factory=dict)
    sla: Mapping[str, object] = field(default_factory=dict)
    priority: Mapping[str, object] = field(default_factory=dict)
    kb: Mapping[str, object] = field(default_factory=dict)
    templates: Mapping[str, object] = field(default_factory=dict)
    agents: tuple[Mapping[str, object], ...] = ()
    teams: tuple[Mapping[str, object], ...] = ()
    escalation: Mapping[str, object] = field(default_factory=dict)
    directory: Mapping[str, object] = field(default_factory=dict)
    alerts: Mapping[str, object] = field(default_factory=dict)
    # Filled from the environment, never from the file.
    config_path: str = ""
    base_dir: str = "."
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = field(default="", repr=False)
    dns_server: str = ""      # MAILPROC_DNS_SERVER: host[:port] doctor asks instead of the system's
    now_override: datetime | None = None

    @property
    def var_path(self) -> Path:
        return self.resolve(self.storage.var_dir)

    def resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir) / p


_RAW_SECTIONS = ("calendar", "sla", "priority", "kb", "templates", "escalation", "directory", "alerts")
_RAW_LISTS = ("agents", "teams")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_timedelta(text: str, *, key: str = "duration") -> timedelta:
    """Plain calendar durations such as "30s", "5m", "2h", "14d", "1w"."""
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"{key}: expected a duration like 30s, 5m, 2h, 14d or 1w, got {text!r}")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def load(path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load settings: defaults, then the TOML file, then MAILPROC_* environment overrides."""
    env = os.environ if env is None else env
    explicit = path or env.get("MAILPROC_CONFIG")
    cfg_path = Path(explicit) if explicit else DEFAULT_CONFIG
    data: dict = {}
    if cfg_path.exists():
        try:
            data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{cfg_path}: not valid TOML: {exc}") from None
    elif explicit:
        raise ConfigError(f"{cfg_path}: configuration file not found")
    raw = {k: data.pop(k) for k in _RAW_SECTIONS + _RAW_LISTS if k in data}
    for name in _RAW_SECTIONS:
        if name in raw and not isinstance(raw[name], dict):
            raise ConfigError(f"{cfg_path}: {name}: expected a table")
    for name in _RAW_LISTS:
        if name in raw and not isinstance(raw[name], list):
            raise ConfigError(f"{cfg_path}: {name}: expected an array of tables ([[{name}]])")
    settings = build(Settings, data, file=str(cfg_path))
    base_dir = cfg_path.resolve().parent.parent if cfg_path.exists() else Path.cwd()
    settings = replace(
        settings,
        config_path=str(cfg_path),
        base_dir=str(base_dir),
        **{k: MappingProxyType(v) for k, v in raw.items() if k in _RAW_SECTIONS},
        **{k: tuple(MappingProxyType(t) for t in v) for k, v in raw.items() if k in _RAW_LISTS},
    )
    settings = _apply_env(settings, env)
    _check(settings)
    return settings


def _apply_env(s: Settings, env: Mapping[str, str]) -> Settings:
    def get(name: str) -> str | None:
        value = env.get(name)
        return value if value not in (None, "") else None

    changes: dict = {}
    db_url = get("MAILPROC_DATABASE_URL") or f"sqlite:///{s.var_path / 'mailproc.sqlite3'}"
    changes["database_url"] = db_url
    changes["redis_url"] = get("MAILPROC_REDIS_URL") or ""
    changes["secret_key"] = get("MAILPROC_SECRET_KEY") or ""
    changes["dns_server"] = get("MAILPROC_DNS_SERVER") or ""
    if now := get("MAILPROC_NOW"):
        changes["now_override"] = parse_now(now)
    if addr := get("MAILPROC_SUPPORT_ADDRESS"):
        changes["support"] = replace(s.support, address=addr)
    if host := get("MAILPROC_IMAP_HOST"):
        # The single mailbox from the environment replaces the configured list.
        security = (get("MAILPROC_IMAP_SSL") or "tls").lower()
        security = {"1": "tls", "true": "tls", "yes": "tls", "0": "plain", "false": "plain",
                    "no": "plain"}.get(security, security)
        if security not in ("tls", "starttls", "plain"):
            raise ConfigError("MAILPROC_IMAP_SSL: expected tls, starttls or plain (or true/false)")
        port = get("MAILPROC_IMAP_PORT") or ("993" if security == "tls" else "143")
        # The environment gives the server and the login; what the configured mailbox says
        # about routing (team, default priority) and, for an IMAP one, how it is polled, stays.
        base = next((m for m in s.mailboxes if m.type == "imap"), None) or \
            (s.mailboxes[0] if s.mailboxes else None)
        kept = {} if base is None else {"team": base.team,
                                        "default_priority": base.default_priority}
        if base is not None and base.type == "imap":
            # Not its name: mailbox rows and checkpoints are found by name, and this one has
            # always been "imap". Not its login either: the environment gives a password.
            kept.update(folder=base.folder, ca_file=base.ca_file,
                        processed_action=base.processed_action,
                        processed_flag=base.processed_flag, move_to=base.move_to,
                        batch_size=base.batch_size, use_idle=base.use_idle)
        box = MailboxSettings(**{"name": "imap", **kept})
        changes["mailboxes"] = (replace(
            box, type="imap", host=host, port=_int_env("MAILPROC_IMAP_PORT", port),
            user=get("MAILPROC_IMAP_USER") or "", security=security,
            password_env="MAILPROC_IMAP_PASSWORD",
            folder=get("MAILPROC_IMAP_FOLDER") or box.folder,
            ca_file=get("MAILPROC_IMAP_CA_FILE") or box.ca_file,
            team=get("MAILPROC_IMAP_TEAM") or box.team,
        ),)
    if host := get("MAILPROC_SMTP_HOST"):
        tls = (get("MAILPROC_SMTP_TLS") or "starttls").lower()
        tls = {"1": "starttls", "true": "starttls", "0": "none", "false": "none"}.get(tls, tls)
        if tls not in ("starttls", "tls", "none"):
            raise ConfigError("MAILPROC_SMTP_TLS: expected starttls, tls or none (or true/false)")
        changes["outgoing"] = replace(
            s.outgoing, transport="smtp", host=host,
            port=_int_env("MAILPROC_SMTP_PORT", get("MAILPROC_SMTP_PORT") or "587"),
            user=get("MAILPROC_SMTP_USER") or s.outgoing.user, tls=tls,
            password_env="MAILPROC_SMTP_PASSWORD" if get("MAILPROC_SMTP_PASSWORD")
            else s.outgoing.password_env,
            ca_file=get("MAILPROC_SMTP_CA_FILE") or s.outgoing.ca_file,
        )
    return replace(s, **changes)


def _int_env(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}: expected an integer port, got {value!r}") from None


def parse_now(text: str) -> datetime:
    try:
        now = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"MAILPROC_NOW: expected an ISO 8601 time such as "
                          f"2026-11-23T09:30:00+01:00, got {text!r}") from None
    if now.tzinfo is None:
        raise ConfigError(f"MAILPROC_NOW: {text!r} has no UTC offset; add one, e.g. +00:00")
    return now.astimezone(timezone.utc)


def _check(s: Settings) -> None:
    names = [m.name for m in s.mailboxes]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ConfigError(f"{s.config_path}: mailboxes: duplicate name {sorted(dupes)[0]!r}")
    for i, m in enumerate(s.mailboxes):
        if m.type == "imap" and not m.host:
            raise ConfigError(f"{s.config_path}: mailboxes[{i}].host: required for an imap mailbox")
        if m.type == "maildir" and not m.path:
            raise ConfigError(f"{s.config_path}: mailboxes[{i}].path: required for a maildir mailbox")
    places = [(f"mailboxes[{i}]", m.auth, m.oauth2, m.user) for i, m in enumerate(s.mailboxes)]
    for where, auth, oauth2, user in [*places, ("outgoing", s.outgoing.auth, s.outgoing.oauth2,
                                                 s.outgoing.user)]:
        if auth == "oauth2" and not (oauth2.client_id and user):
            raise ConfigError(f"{s.config_path}: {where}: auth = \"oauth2\" needs user and "
                              f"{where}.oauth2.client_id (the app registered at the provider)")
    for key in ("subject_window", "reopen_closed_within"):
        parse_timedelta(getattr(s.threading, key), key=f"{s.config_path}: threading.{key}")
    parse_timedelta(s.ack.undeliverable_for, key=f"{s.config_path}: ack.undeliverable_for")
    for key in ("retry_base", "retry_cap"):
        parse_timedelta(getattr(s.outgoing, key), key=f"{s.config_path}: outgoing.{key}")
    for key in ("raw_mail_days", "closed_case_days", "quarantine_days"):
        if getattr(s.retention, key) < 0:
            raise ConfigError(f"{s.config_path}: retention.{key}: expected 0 (keep for ever) "
                              f"or a number of days, got {getattr(s.retention, key)}")
