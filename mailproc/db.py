"""Database engine, sessions and schema upgrades (SQLite with WAL, or PostgreSQL)."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the driver we install), not psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


READ_ONLY = "mailproc_read_only"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with our per-backend settings: WAL and foreign keys on SQLite."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # The ordered step runs some 280 distinct statements (an IN list's every length is
        # one): sqlite3 keeps 128 prepared by default and prepared the rest again and again.
        kwargs.setdefault("connect_args", {"timeout": 30, "cached_statements": 1024})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no branch - per connection
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # pysqlite's own transaction handling defers BEGIN; take the write lock up front
        # so two processes never deadlock upgrading a read lock.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn, _record):
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):
            # A reader (Database.reading) takes no write lock: under WAL it neither waits
            # for a writer nor holds one up.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY)
                                 else "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "connect")
    def _lz4_toast(dbapi_conn, _record):  # pragma: no branch - per connection
        # Raw mail and bodies are compressed as they are stored: a corpus-sized row took
        # 280 µs to write with pglz, the default, 185 µs with lz4 (194 µs uncompressed). A
        # server built without lz4 keeps its default.
        cur = dbapi_conn.cursor()
        try:
            cur.execute("SET default_toast_compression = 'lz4'")
            dbapi_conn.commit()
        except dbapi_error as exc:
            dbapi_conn.rollback()
            log.info("PostgreSQL keeps its default TOAST compression: %s", exc)
        finally:
            cur.close()

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def advisory_xact_locks(session, space: str, keys: Sequence[str]) -> None:
    """PostgreSQL: wait for the lock on (schema, space, key) of each of `keys`, one after
    the other in their order (callers sort them: two transactions that take theirs in one
    order cannot deadlock), held until this transaction ends. One statement for them all."""
    if keys:
        session.execute(text(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || :space), hashtext(k)) "
            "FROM unnest(CAST(:keys AS text[])) AS k"), {"space": space, "keys": list(keys)})


def core(session: Session) -> Connection:
    """The connection of `session`'s transaction, for statements that read columns, not ORM
    objects: its pending changes are flushed first, as `session.execute` would, and the rows
    are the same without the ORM's execution path, which costs more than SQLite takes to
    answer (85 against 40 µs a statement, measured)."""
    if session.autoflush:   # False inside `session.no_autoflush`, as for session.execute
        session.flush()
    return session.connection()


class Database:
    """An engine plus a session factory; `transaction()` is the one unit of work."""

    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = url
        self._engine_kwargs = engine_kwargs
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def fresh(self) -> Database:
        """The same database through new connections, for a forked child: the parent's
        connections must be neither used nor closed there (closing one ends the parent's
        server session)."""
        return Database(self.url, **self._engine_kwargs)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads: on SQLite it takes no write lock, so it can run
        while this process's own write transaction is open (the prepare pool's feed)."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn, \
                Session(conn, expire_on_commit=False) as session, session.begin():
            yield session

    def upgrade(self, revision: str = "head") -> None:
        upgrade(self.engine, revision)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to `revision` with Alembic."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
