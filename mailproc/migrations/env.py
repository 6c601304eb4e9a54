"""Alembic environment: runs migrations on the engine mailproc hands over."""

from alembic import context

from mailproc import config as settings_mod
from mailproc.db import make_engine
from mailproc.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # `alembic` CLI use: build the engine from our settings
    engine = make_engine(settings_mod.load().database_url)

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
