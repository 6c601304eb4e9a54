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


class EditRefused(MailprocError):
    """An edited template or KB article fails its check and is not saved; `problems` maps
    each name the edit breaks (usually the edited one) to its (line, message) pairs, line 0
    when no line is to blame."""

    def __init__(self, problems: dict[str, list[tuple[int, str]]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}:{line}: {message}" for name, found in problems.items()
                                   for line, message in found) or "refused")


class GrantError(MailprocError):
    """An OAuth2 grant gives no token now (provider unreachable, another process stuck
    refreshing): the login fails this time and is tried again."""


class GrantRevoked(GrantError):
    """The OAuth2 grant no longer works (revoked, expired, never made, undecryptable): a
    person must run `mailproc oauth login` again; a loud health event and an alert."""
