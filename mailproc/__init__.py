"""mailproc: an email-first support mailbox processor."""

__version__ = "0.2.0"
