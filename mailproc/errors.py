"""The one exception tree of mailproc; adapters translate library errors into it."""


class MailprocError(Exception):
    """Base of every error mailproc raises on purpose."""


class ConfigError(MailprocError):
    """Configuration is missing, malformed or inconsistent."""


class SourceError(MailprocError):
    """A mail source (IMAP, Maildir) failed."""


class SourceAuthError(SourceError):
    """The source refused our credentials: a loud health event, never a silent stop."""


class ParseError(MailprocError):
    """A message could not be parsed; the raw bytes are kept and quarantined."""


class TemplateError(MailprocError):
    """A template failed to load or render."""


class DeliveryError(MailprocError):
    """Outgoing mail could not be delivered."""


class TransientDeliveryError(DeliveryError):
    """Try again later (4xx, connection problems)."""


class PermanentDeliveryError(DeliveryError):
    """Do not try again (5xx, too many attempts)."""
