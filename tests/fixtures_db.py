"""Database fixtures: every `db` test runs on SQLite and on a fresh PostgreSQL schema."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from mailproc.db import Database

POSTGRES_URL = os.environ.get("MAILPROC_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver error means: not reachable
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    message = f"PostgreSQL at {POSTGRES_URL} is not reachable ({reason}); `make test` starts it"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _postgres_database(schema: str) -> Database:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return Database(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})


def _drop_schema(schema: str) -> None:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url_factory(request, tmp_path):
    """Yields a function making fresh, migrated databases' URLs+kwargs on the param's backend."""
    made: list[tuple[Database, str | None]] = []
    if request.param == "postgresql":
        require_postgres()

    def make() -> Database:
        if request.param == "sqlite":
            database = Database(f"sqlite:///{tmp_path / f'db-{len(made)}.sqlite3'}")
            schema = None
        else:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            database = _postgres_database(schema)
        database.upgrade()
        made.append((database, schema))
        return database

    make.backend = request.param
    yield make
    for database, schema in made:
        database.dispose()
        if schema:
            _drop_schema(schema)


@pytest.fixture
def db(db_url_factory) -> Database:
    """A fresh, migrated database: SQLite file in tmp_path, or a new PostgreSQL schema."""
    return db_url_factory()


@pytest.fixture
def pg_schema_url():
    """(url, schema) of a fresh PostgreSQL schema for tests that spawn processes."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _postgres_database(schema).dispose()
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", schema
    _drop_schema(schema)


@pytest.fixture
def pg_db() -> Database:
    """A fresh, migrated PostgreSQL schema, for behaviour only PostgreSQL has."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    database = _postgres_database(schema)
    database.upgrade()
    yield database
    database.dispose()
    _drop_schema(schema)
