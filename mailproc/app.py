"""The composition root: settings, database, clock and the adapters built from them."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from mailproc.clock import Clock, clock_for
from mailproc.config import Settings, parse_timedelta
from mailproc.db import Database, is_postgres
from mailproc.escalation.ladder import Ladder, load_ladder
from mailproc.kb.search import KnowledgeBase
from mailproc.models import KbVersion, TemplateVersion
from mailproc.people.agents import AgentDirectory, load_agents
from mailproc.people.directory import Directory, load_directory
from mailproc.policy.kb import check_settings, kb_settings
from mailproc.sla.levels import build_service_levels
from mailproc.store.raw import RawStore
from mailproc.store.versions import LiveVersions

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    db: Database
    clock: Clock
    _secret: bytes | None = field(default=None, repr=False)
    _parsed: dict = field(default_factory=dict, repr=False)
    _prepared: bool = field(default=False, repr=False)

    @classmethod
    def create(cls, settings: Settings, *, clock: Clock | None = None,
               db: Database | None = None) -> "App":
        return cls(settings=settings, db=db or Database(settings.database_url),
                   clock=clock or clock_for(settings.now_override))

    @property
    def var(self) -> Path:
        path = self.settings.var_path
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def secret_key(self) -> bytes:
        """MAILPROC_SECRET_KEY; the embedded default keeps a generated key in var/ (mode 600)."""
        if self._secret is None:
            if self.settings.secret_key:
                self._secret = self.settings.secret_key.encode()
            else:
                path = self.var / "secret_key"
                if not path.exists():
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "w") as fh:
                        fh.write(secrets.token_hex(32))
                    log.warning("MAILPROC_SECRET_KEY is not set: generated a key in %s", path)
                self._secret = path.read_text().strip().encode()
        return self._secret

    @cached_property
    def own_addresses(self) -> frozenset[str]:
        s = self.settings.support
        return frozenset(a.lower() for a in (s.address, *s.aliases))

    def is_own(self, address: str) -> bool:
        """Our address, an alias, or a plus-address of one (support+1042.sig@…)."""
        address = address.strip().lower()
        local, _, domain = address.partition("@")
        return address in self.own_addresses or (
            "+" in local and f"{local.split('+', 1)[0]}@{domain}" in self.own_addresses)

    def prepare(self) -> None:
        """Build what processing needs before a message is claimed (the KB index with its
        model, calendar, directories): a process killed while it starts dies on no message."""
        if self._prepared:
            return
        _ = (self.service_levels, self.agents, self.people, self.ladder, self.kb_settings)
        if self.knowledge_base is not None:
            self.knowledge_base.articles()
        self._prepared = True

    def _per_settings(self, name: str, build):
        """Parsed once per settings object; a test that swaps `settings` gets a fresh parse."""
        hit = self._parsed.get(name)
        if hit is None or hit[0] is not self.settings:
            hit = self._parsed[name] = (self.settings, build(self.settings))
        return hit[1]

    @property
    def agents(self) -> AgentDirectory:
        """The configured agents and teams."""
        return self._per_settings("agents", lambda s: load_agents(s.agents, s.teams))

    @property
    def people(self) -> Directory:
        """People, on-call rota and vendors of the phone directory."""
        def build(s: Settings) -> Directory:
            zone = str(s.calendar.get("timezone", "UTC")) if s.calendar else "UTC"
            return load_directory(s.directory or {}, zone=zone, region=s.support.phone_region)
        return self._per_settings("people", build)

    @property
    def ladder(self) -> Ladder:
        """The escalation ladder, reminders and incident settings."""
        return self._per_settings("ladder", lambda s: load_ladder(s.escalation or {}))

    @cached_property
    def service_levels(self):
        s = self.settings
        return build_service_levels(s.calendar, s.sla, s.priority)

    @cached_property
    def kb_settings(self):
        cfg = kb_settings(self.settings.kb, self.settings.config_path or "config")
        check_settings(cfg)
        return cfg

    @cached_property
    def edited_templates(self) -> LiveVersions:
        """Templates edited in the web console, newest version per name, read live from the
        database: they win over `[templates] override_dir` and the built-ins."""
        return LiveVersions(self.db, TemplateVersion)

    @cached_property
    def edited_articles(self) -> LiveVersions:
        """KB articles edited in the web console, read live: they win over kb/'s files."""
        return LiveVersions(self.db, KbVersion)

    @cached_property
    def knowledge_base(self):
        """The KB index (reloads changed files and edits itself); None when the KB is off."""
        cfg = self.kb_settings
        path = self.settings.resolve(cfg.dir)
        if not cfg.enabled or not path.is_dir():
            return None
        cache = self.settings.resolve(cfg.cache_dir) if cfg.cache_dir else self.var / "kb-cache"
        return KnowledgeBase(path, cache_dir=cache, semantic=None if cfg.semantic else False,
                             edited=self.edited_articles.snapshot)

    @property
    def message_id_domain(self) -> str:
        return self.settings.support.address.rpartition("@")[2] or "mailproc.invalid"

    @cached_property
    def subject_window(self):
        return parse_timedelta(self.settings.threading.subject_window)

    @property
    def own_domains(self) -> frozenset[str]:
        """Our own mail domains: the support address's and its aliases'."""
        support = self.settings.support
        return frozenset(a.rpartition("@")[2].lower() for a in (support.address, *support.aliases)
                         if "@" in a)

    def raw_store(self):
        kinds = {m.name: m.type for m in self.settings.mailboxes}
        # Files under var/ live on one machine; with PostgreSQL, workers and a standby poller
        # run anywhere, so every message stays in the database (bytea holds up to 1 GB).
        threshold = (self.settings.storage.max_message_bytes + 1 if is_postgres(self.db.engine)
                     else self.settings.storage.blob_threshold_bytes)
        return RawStore(self.db, self.clock, blob_dir=self.var / "blobs",
                        blob_threshold=threshold, kind_by_mailbox=kinds)
