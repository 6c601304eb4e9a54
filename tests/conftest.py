"""Shared fixtures: real servers (Dovecot, aiosmtpd, Redis, PostgreSQL) and databases."""

pytest_plugins = ["tests.fixtures_servers", "tests.fixtures_db"]
