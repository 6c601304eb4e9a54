"""The data model: SQLAlchemy 2 typed ORM tables for mail, cases, people, outbox and audit."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import (
    JSON, BigInteger, Boolean, DateTime, Enum, ForeignKey, Index, Integer, LargeBinary, String,
    Text, TypeDecorator, UniqueConstraint, func, text,
)
from sqlalchemy.dialects import postgresql  # noqa: F401 - makes func.to_tsvector compile
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite keeps no zone: store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON, list: JSON, bytes: LargeBinary}


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings (no native PG enum) so adding a state is not a type migration.
    return Enum(cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


class RawStatus(str, enum.Enum):
    PENDING = "pending"
    PROCESSED = "processed"
    QUARANTINED = "quarantined"


class CaseStatus(str, enum.Enum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Direction(str, enum.Enum):
    IN = "in"
    OUT = "out"


class OutboxStatus(str, enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"
    CANCELLED = "cancelled"     # never to be sent: its recipient was erased


class Mailbox(Base):
    __tablename__ = "mailboxes"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]


class Checkpoint(Base):
    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("mailbox_id", "folder"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class RawMessage(Base):
    __tablename__ = "raw_messages"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "source_key"),
        Index("ix_raw_messages_status", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[Optional[int]] = mapped_column(ForeignKey("mailboxes.id"))
    source_key: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[Optional[bytes]]
    blob_path: Mapped[Optional[str]] = mapped_column(String(500))
    header_message_id: Mapped[Optional[str]] = mapped_column(String(998), index=True)
    received_at: Mapped[datetime]
    status: Mapped[RawStatus] = mapped_column(_enum(RawStatus), default=RawStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[Optional[datetime]]
    # Same bytes seen again (e.g. after UIDVALIDITY changed): points at the first copy.
    duplicate_of_id: Mapped[Optional[int]] = mapped_column(ForeignKey("raw_messages.id"))


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    phones: Mapped[list] = mapped_column(default=list)
    undeliverable_until: Mapped[Optional[datetime]]
    undeliverable_reason: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime]


class Incident(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    created_at: Mapped[datetime]
    resolved_at: Mapped[Optional[datetime]]
    # The words new cases are compared with (mailproc.actions.incidents), and the latest public update.
    keywords: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_status_updated", "status", "updated_at"),
                      Index("ix_cases_created_at", "created_at"),
                      # The case list's order (newest activity first) and its keyset pages.
                      Index("ix_cases_updated", "updated_at", "id"),
                      # A customer's recent cases, and a domain's, for threading.
                      Index("ix_cases_customer_updated", "customer_id", "updated_at"),
                      Index("ix_cases_domain_updated", "customer_domain", "updated_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[Optional[str]] = mapped_column(String(32), unique=True)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.NEW)
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    subject: Mapped[str] = mapped_column(Text, default="")
    normalized_subject: Mapped[str] = mapped_column(String(300), default="", index=True)
    mailbox_id: Mapped[Optional[int]] = mapped_column(ForeignKey("mailboxes.id"))
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("contacts.id"))
    # The customer's domain, lower case (thread.nearby.domain_of): the colleague rules ask for
    # a domain's recent cases in one index range, even at a customer of many hundred people.
    customer_domain: Mapped[Optional[str]] = mapped_column(String(255))
    team: Mapped[str] = mapped_column(String(100), default="")
    assignee: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_customer_message_at: Mapped[Optional[datetime]]
    first_response_due_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    resolution_due_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    next_escalation_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    first_responded_at: Mapped[Optional[datetime]]
    paused_at: Mapped[Optional[datetime]]
    resolved_at: Mapped[Optional[datetime]]
    closed_at: Mapped[Optional[datetime]]
    linked_case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"))
    # Set by #merge: mail that still finds this case (its tag, signed address, our ids) goes there.
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"), index=True)
    incident_id: Mapped[Optional[int]] = mapped_column(ForeignKey("incidents.id"), index=True)
    kb_suggestions: Mapped[list] = mapped_column(default=list)
    resolved_by_kb: Mapped[bool] = mapped_column(Boolean, default=False)
    customer: Mapped[Optional[Contact]] = relationship(lazy="joined")
    messages: Mapped[list["Message"]] = relationship(
        back_populates="case", order_by="Message.id", foreign_keys="Message.case_id")


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("case_id", "contact_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="customer")
    contact: Mapped[Contact] = relationship(lazy="joined")


class Message(Base):
    __tablename__ = "messages"
    # A sender's mail by date, for threading (the sender's subject, their recent cases).
    __table_args__ = (Index("ix_messages_from_date", "from_addr", "date_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    raw_id: Mapped[Optional[int]] = mapped_column(ForeignKey("raw_messages.id"), unique=True)
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"), index=True)
    direction: Mapped[Direction] = mapped_column(_enum(Direction))
    kind: Mapped[str] = mapped_column(String(20))
    kind_reason: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[list] = mapped_column(default=list)
    references: Mapped[list] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(300), default="")
    to_addrs: Mapped[list] = mapped_column(default=list)
    cc_addrs: Mapped[list] = mapped_column(default=list)
    date_at: Mapped[datetime]
    body_text: Mapped[str] = mapped_column(Text, default="")
    new_text: Mapped[str] = mapped_column(Text, default="")
    signature: Mapped[str] = mapped_column(Text, default="")
    thread_rule: Mapped[str] = mapped_column(String(40), default="")
    thread_reason: Mapped[str] = mapped_column(Text, default="")
    # An agent's #note (or anything else no customer may see): never relayed.
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    case: Mapped[Optional[Case]] = relationship(back_populates="messages", foreign_keys=[case_id])
    attachments: Mapped[list["Attachment"]] = relationship(order_by="Attachment.id")


# The words of each message's new text, for the case list's search; the index over it exists
# on PostgreSQL only (GIN, kept current by PostgreSQL itself; SQLite searches with LIKE).
SIMPLE = text("'simple'")           # the text search configuration: lower case, no stemming
MESSAGE_WORDS = func.to_tsvector(SIMPLE, Message.new_text)
Index("ix_messages_words", MESSAGE_WORDS, postgresql_using="gin").ddl_if(dialect="postgresql")


class MessageRef(Base):
    """Each id a message's In-Reply-To/References names: replies to an ancestor we never
    received still meet in one case."""

    __tablename__ = "message_refs"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"),
                                            index=True)
    ref_id: Mapped[str] = mapped_column(String(998), index=True)
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"))


class MessagePrint(Base):
    """A fingerprint of a stored message's new text (mailproc.thread.prints): a reply that
    quotes it, headers or not, is found by it."""

    __tablename__ = "message_prints"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"),
                                            index=True)
    print: Mapped[int] = mapped_column(BigInteger, index=True)


class Blob(Base):
    """Attachment bytes, stored once per content hash."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes]


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(500), default="")
    content_type: Mapped[str] = mapped_column(String(200), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))


class Event(Base):
    """The audit trail: who did what, when and why; a case's history can be replayed from it."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(default=dict)


class OutboundMail(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    # One row per decision: e.g. "ack:case:12" can never be written twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.PENDING)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    from_addr: Mapped[str] = mapped_column(String(320))
    to_addrs: Mapped[list] = mapped_column(default=list)
    # The first recipient, indexed: per-recipient rate limits and holds look it up.
    recipient: Mapped[str] = mapped_column(String(320), default="", index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[str] = mapped_column(String(100), default="")
    context: Mapped[dict] = mapped_column(default=dict)
    raw: Mapped[Optional[bytes]]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[Optional[datetime]]
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[Optional[datetime]]


class Quarantine(Base):
    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(primary_key=True)
    raw_id: Mapped[int] = mapped_column(ForeignKey("raw_messages.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    released_at: Mapped[Optional[datetime]]


class KbArticle(Base):
    __tablename__ = "kb_articles"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(20), default="customer")
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class Health(Base):
    __tablename__ = "health"
    __table_args__ = (UniqueConstraint("target", "transport"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(200))
    transport: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="up")
    since_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)


class Escalation(Base):
    """One fired escalation step (or reminder); the unique key makes firing idempotent across
    crashes and concurrent sweeps."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("case_id", "step", "breach_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(100))
    breach_key: Mapped[str] = mapped_column(String(100))
    fired_at: Mapped[datetime]
    outbox_id: Mapped[Optional[int]] = mapped_column(ForeignKey("outbox.id"))


class SweepMark(Base):
    """Where a sweep left off (e.g. the last case update already planned)."""

    __tablename__ = "sweep_marks"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    at: Mapped[datetime]


class Outage(Base):
    """One outage of a health target (or a bounce storm): alerted once, recovery noticed once."""

    __tablename__ = "outages"
    __table_args__ = (UniqueConstraint("key", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(250), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime]
    ended_at: Mapped[Optional[datetime]]
    alerted_at: Mapped[Optional[datetime]]
    recovery_alerted_at: Mapped[Optional[datetime]]
    last_error: Mapped[Optional[str]] = mapped_column(Text)


class User(Base):
    """Someone who signs in to the web console: an admin, a lead or an agent."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(10))          # admin | lead | agent
    password_hash: Mapped[Optional[str]] = mapped_column(Text)   # argon2id; None: links only
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[datetime]]
    created_at: Mapped[datetime]
    last_login_at: Mapped[Optional[datetime]]


class WebSession(Base):
    """A signed-in browser; `id` is the SHA-256 of the cookie's token, never the token."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[Optional[datetime]]
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    user: Mapped[User] = relationship(lazy="joined")


class SignInLink(Base):
    """A one-time sign-in link mailed to a user; `id` is the SHA-256 of its token."""

    __tablename__ = "sign_in_links"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]


class LoginAttempt(Base):
    """One sign-in attempt, kept for rate limits per account and per address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),
                      Index("ix_login_attempts_address_at", "address", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)


class TemplateVersion(Base):
    """One saved version of a template file (e.g. "ack.de.txt.j2"); the newest wins over the
    files, `removed` puts the file back in charge."""

    __tablename__ = "template_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    source: Mapped[str] = mapped_column(Text, default="")
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class KbVersion(Base):
    """One saved version of a KB article (Markdown with front matter); the newest wins over
    the file of the same id in kb/, `removed` hides the article."""

    __tablename__ = "kb_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[str] = mapped_column(String(200), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class OAuthGrant(Base):
    """One OAuth2 grant (`mailproc oauth login`) per mailbox or for the outgoing server: its
    tokens encrypted (mailproc.oauth.vault), and a lease so one process at a time refreshes."""

    __tablename__ = "oauth_grants"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # mailbox:<name> | outgoing
    provider: Mapped[str] = mapped_column(String(20))
    account: Mapped[str] = mapped_column(String(320))
    client_id: Mapped[str] = mapped_column(String(300))
    token_url: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text, default="")
    refresh_token: Mapped[Optional[str]] = mapped_column(Text)      # encrypted
    access_token: Mapped[Optional[str]] = mapped_column(Text)       # encrypted
    expires_at: Mapped[Optional[datetime]]
    state: Mapped[str] = mapped_column(String(20), default="active")  # active | revoked
    problem: Mapped[Optional[str]] = mapped_column(Text)
    lease_holder: Mapped[Optional[str]] = mapped_column(String(100))
    lease_until: Mapped[Optional[datetime]]
    refreshed_at: Mapped[Optional[datetime]]
    refreshes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
