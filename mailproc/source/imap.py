"""IMAP source over imapclient: UID checkpoints, batched BODY.PEEK fetches, mark after store, IDLE."""

from __future__ import annotations

import contextlib
import imaplib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC

from imapclient import DELETED, IMAPClient
from imapclient.exceptions import LoginError

from mailproc.errors import ConfigError, GrantError, GrantRevoked, SourceAuthError, SourceError
from mailproc.oauth import sasl
from mailproc.source.base import Checkpoint, FetchedMessage, IngestSink, imap_source_key
from mailproc.tls import tls_context

log = logging.getLogger(__name__)

TRANSPORT = "imap"
UNREADABLE_ROUNDS = 3  # rounds a message may fail to FETCH before mail health names it
# RFC 2177 servers may drop an IDLE after 30 minutes of silence; renew well before.
IDLE_RENEW_MAX = 25 * 60.0
STOP_CHECK = 1.0  # seconds between looks at should_stop while waiting for mail
_FETCH_ITEMS = [b"BODY.PEEK[]", b"INTERNALDATE"]


@dataclass(frozen=True)
class ImapSettings:
    name: str
    host: str
    port: int
    user: str
    security: str = "tls"  # "tls" | "starttls" | "plain"
    auth: str = "password"  # "password" | "xoauth2" (a bearer token: OAUTHBEARER or XOAUTH2)
    password: str | None = field(default=None, repr=False)
    oauth2_token: str | None = field(default=None, repr=False)
    folder: str = "INBOX"
    processed_action: str = "flag"  # "flag" | "move"
    processed_flag: str = "$MailprocProcessed"
    move_to: str = "Processed"
    batch_size: int = 200
    use_idle: bool = True
    timeout: float = 30.0
    force_copy_expunge: bool = False  # behave as if the server lacked MOVE
    idle_renew: float = 24 * 60.0
    ca_file: str | None = None  # a CA to trust besides the system's, e.g. a private one

    def __post_init__(self) -> None:
        where = f"mailbox {self.name!r}"
        if self.security not in ("tls", "starttls", "plain"):
            raise ConfigError(f"{where}: security must be tls, starttls or plain, not {self.security!r}")
        if self.auth not in ("password", "xoauth2"):
            raise ConfigError(f"{where}: auth must be password or xoauth2, not {self.auth!r}")
        if self.processed_action not in ("flag", "move"):
            raise ConfigError(f"{where}: processed_action must be flag or move, not {self.processed_action!r}")
        if self.batch_size < 1:
            raise ConfigError(f"{where}: batch_size must be at least 1")
        if self.processed_action == "move" and self.move_to == self.folder:
            raise ConfigError(f"{where}: move_to must differ from folder")
        if not 0 < self.idle_renew <= IDLE_RENEW_MAX:
            raise ConfigError(f"{where}: idle_renew must be in (0, {IDLE_RENEW_MAX:.0f}] seconds")


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class ImapSource:
    """One IMAP folder of one mailbox; keeps its connection between polls and reconnects on demand."""

    def __init__(self, settings: ImapSettings, *,
                 token_provider: Callable[..., str] | None = None) -> None:
        self.settings = settings
        self.name = settings.name
        self._token_provider = token_provider  # fresh OAuth2 token per login, if tokens expire
        self._client: IMAPClient | None = None
        self._sink: IngestSink | None = None
        self._move_target_ready = False
        # UID -> (rounds in a row it could not be fetched, the server's last word on it)
        self._unreadable: dict[int, tuple[int, str]] = {}
        # Built once, at start: a bad ca_file is a ConfigError now, not at every reconnect.
        self._tls = tls_context(settings.ca_file) if settings.security != "plain" else None

    # -- Source protocol -------------------------------------------------------------------
    def poll_once(self, sink: IngestSink) -> int:
        """Store every message not yet stored and marked; return how many were handed to the sink."""
        self._sink = sink
        try:
            self._connected(sink)
            count = self._poll(sink)
        except SourceAuthError:
            self._drop()
            raise
        except SourceError as exc:
            self._drop()
            sink.record_attempt(self.name, TRANSPORT, False, str(exc))
            raise
        sink.record_attempt(self.name, TRANSPORT, True, self._unreadable_note())
        return count

    def _unreadable_note(self) -> str | None:
        """Mail the server keeps failing to hand out stays there, retried every round; after
        UNREADABLE_ROUNDS rounds it is named in mail health (`mailproc status`), not only in logs."""
        stuck = {uid: v for uid, v in self._unreadable.items() if v[0] >= UNREADABLE_ROUNDS}
        if not stuck:
            return None
        uids = sorted(stuck)
        note = (f"{len(uids)} message(s) in {self.settings.folder} could not be read from the "
                f"server for {min(v[0] for v in stuck.values())}+ rounds (UID "
                f"{', '.join(map(str, uids[:10]))}{' ...' if len(uids) > 10 else ''}); left on "
                f"the server and retried every round: {stuck[uids[0]][1]}")
        log.error("IMAP %s: %s", self.name, note)
        return note

    def check(self) -> int:
        """Log in and select the folder, as `mailproc doctor` asks: the number of messages in
        it. Raises SourceAuthError or SourceError with the reason; records no health."""
        try:
            self._connected(None)
            with self._io(f"SELECT {self.settings.folder}"):
                return int(self._client.select_folder(self.settings.folder,
                                                      readonly=True)[b"EXISTS"])
        finally:
            self._drop()

    def wait_for_mail(self, timeout: float, should_stop: Callable[[], bool] = lambda: False,
                      ) -> None:
        """Return when new mail may be there (IDLE saw EXISTS), after `timeout` seconds, or
        within a second of `should_stop()` turning true (a SIGTERM must not wait out an IDLE)."""
        client = self._client
        deadline = time.monotonic() + timeout
        if client is None or not self.settings.use_idle or not client.has_capability("IDLE"):
            while (remaining := deadline - time.monotonic()) > 0 and not should_stop():
                time.sleep(min(remaining, STOP_CHECK))
            return
        try:
            with self._io("IDLE"):
                while (remaining := deadline - time.monotonic()) > 0 and not should_stop():
                    renew_at = time.monotonic() + min(remaining, self.settings.idle_renew)
                    client.idle()
                    responses: list = []
                    try:
                        # Short checks on the one IDLE: no traffic, but a stop is seen.
                        while (left := renew_at - time.monotonic()) > 0 and not should_stop():
                            responses = client.idle_check(timeout=min(left, STOP_CHECK))
                            if any(_is_new_mail(r) for r in responses):
                                break
                    finally:
                        _, late = client.idle_done()  # DONE also renews the IDLE after idle_renew
                    if any(_is_new_mail(r) for r in [*responses, *(late or [])]):
                        return
        except SourceError as exc:
            self._drop()
            if self._sink is not None:
                self._sink.record_attempt(self.name, TRANSPORT, False, str(exc))
            raise

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                client.shutdown()

    # -- connection ------------------------------------------------------------------------
    def _where(self) -> str:
        s = self.settings
        return f"{s.user}@{s.host}:{s.port} (mailbox {s.name!r})"

    @contextlib.contextmanager
    def _io(self, doing: str) -> Iterator[None]:
        """Translate imapclient / socket failures into SourceError at the adapter's edge."""
        try:
            yield
        except (imaplib.IMAP4.error, OSError) as exc:  # includes abort, LoginError, ssl and timeouts
            raise SourceError(f"IMAP {doing} failed for {self._where()}: {exc}") from exc

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                client.shutdown()

    def _connected(self, sink: IngestSink | None) -> IMAPClient:
        if self._client is not None:
            try:
                self._client.noop()  # a kept connection may have been closed by the server meanwhile
                return self._client
            except (imaplib.IMAP4.error, OSError) as exc:
                log.info("IMAP %s: kept connection is gone (%s); reconnecting", self.name, exc)
                self._drop()
        s = self.settings
        context = self._tls
        with self._io("connect"):
            client = IMAPClient(s.host, s.port, ssl=s.security == "tls", ssl_context=context, timeout=s.timeout)
            client.normalise_times = False  # aware datetimes, converted to UTC below
        try:
            with self._io("STARTTLS"):
                if s.security == "starttls":
                    client.starttls(context)
            self._login(client, sink)
        except BaseException:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                client.shutdown()
            raise
        self._client = client
        self._move_target_ready = False
        log.info("IMAP connected to %s", self._where())
        return client

    def _login(self, client: IMAPClient, sink: IngestSink | None) -> None:
        s = self.settings
        try:
            with self._io("login"):
                try:
                    if s.auth == "password":
                        if s.password is None:
                            raise SourceAuthError(f"no password configured for {self._where()}")
                        client.login(s.user, s.password)
                    else:
                        self._token_login(client)
                except LoginError as exc:
                    # the server's text ("[AUTHENTICATIONFAILED] ...") never echoes our secret
                    raise SourceAuthError(f"IMAP login refused for {self._where()}: {exc}") from None
        except SourceAuthError as exc:
            log.error("%s", exc)
            if sink is not None:
                sink.record_attempt(self.name, TRANSPORT, False, str(exc))
            raise

    def _token_login(self, client: IMAPClient) -> None:
        """OAUTHBEARER or XOAUTH2, whichever the server offers; a refused token is replaced
        once by a newer one (expired early, or revoked and signed in again meanwhile)."""
        s = self.settings
        offered = [c.decode().removeprefix("AUTH=") for c in client.capabilities()
                   if c.startswith(b"AUTH=")]
        login = client.oauthbearer_login if sasl.mechanism(offered) == "OAUTHBEARER" \
            else client.oauth2_login
        token = self._token()
        try:
            login(s.user, token)
        except LoginError:
            if self._token_provider is None:
                raise
            log.info("IMAP %s refused the OAuth2 token; asking for a newer one", self.name)
            login(s.user, self._token(rejected=token))

    def _token(self, rejected: str | None = None) -> str:
        if self._token_provider is None:
            if not self.settings.oauth2_token:
                raise SourceAuthError(f"no OAuth2 token for {self._where()}")
            return self.settings.oauth2_token
        try:
            return self._token_provider(rejected=rejected) if rejected else self._token_provider()
        except GrantRevoked as exc:
            raise SourceAuthError(f"{self._where()}: {exc}") from None
        except GrantError as exc:
            raise SourceError(f"{self._where()}: {exc}") from None

    # -- one round -------------------------------------------------------------------------
    def _select(self) -> int:
        with self._io(f"SELECT {self.settings.folder}"):
            selected = self._client.select_folder(self.settings.folder)
        return int(selected[b"UIDVALIDITY"])

    def _reselect(self, uidvalidity: int) -> None:
        """Reconnect after the server hung up on us mid-round (Dovecot does on a broken message)."""
        self._drop()
        self._connected(self._sink)
        if self._select() != uidvalidity:
            raise SourceError(f"UIDVALIDITY of {self.settings.folder} changed mid-round for {self._where()}")

    def _poll(self, sink: IngestSink) -> int:
        s = self.settings
        client = self._client
        uidvalidity = self._select()
        checkpoint = sink.checkpoint(s.name, s.folder)
        if checkpoint is not None and checkpoint.uidvalidity != uidvalidity:
            # The server renumbered the folder: old UIDs mean nothing. Re-read it all; the sink
            # recognises already stored mail by content hash.
            log.warning(
                "IMAP %s folder %s UIDVALIDITY changed %d -> %d; rescanning from UID 1",
                s.name, s.folder, checkpoint.uidvalidity, uidvalidity,
            )
            checkpoint = Checkpoint(uidvalidity, 0)
            self._unreadable.clear()
            sink.store_batch(s.name, s.folder, checkpoint, [])
        last_uid = checkpoint.last_uid if checkpoint is not None else 0
        stored = 0
        leftovers: list[int] = []
        if last_uid:
            # Stored before a crash (or skipped after a fetch error) but never marked.
            with self._io("SEARCH leftovers"):
                if s.processed_action == "flag":
                    leftovers = client.search(["UNKEYWORD", s.processed_flag, "UID", f"1:{last_uid}"])
                else:
                    leftovers = client.search(["UID", f"1:{last_uid}"])
            leftovers = sorted(u for u in leftovers if u <= last_uid)
            if leftovers:
                log.info("IMAP %s: %d stored-but-unmarked message(s) to finish", s.name, len(leftovers))
            for batch in _chunks(leftovers, s.batch_size):
                count, _ = self._store_and_mark(sink, uidvalidity, batch, checkpoint)
                stored += count
        with self._io("SEARCH new"):
            # "n:*" always matches the highest UID, even one below n: filter again.
            new = sorted(u for u in self._client.search(["UID", f"{last_uid + 1}:*"]) if u > last_uid)
        # Forget failures of mail that is gone from the folder (deleted by someone else).
        waiting = set(leftovers) | set(new)
        self._unreadable = {u: v for u, v in self._unreadable.items() if u in waiting}
        for batch in _chunks(new, s.batch_size):
            count, checkpoint = self._store_and_mark(sink, uidvalidity, batch, checkpoint)
            stored += count
        return stored

    def _store_and_mark(
        self,
        sink: IngestSink,
        uidvalidity: int,
        uids: list[int],
        checkpoint: Checkpoint | None,
    ) -> tuple[int, Checkpoint | None]:
        messages = self._fetch(uidvalidity, uids)
        if not messages:
            return 0, checkpoint
        last = max(m.uid for m in messages if m.uid is not None)
        if checkpoint is not None:
            last = max(last, checkpoint.last_uid)
        new_checkpoint = Checkpoint(uidvalidity, last)
        sink.store_batch(self.name, self.settings.folder, new_checkpoint, messages)
        # Only now are the bytes safe in the database; a crash before the mark means a leftover
        # next round, never a lost message.
        self._mark([m.uid for m in messages if m.uid is not None])
        return len(messages), new_checkpoint

    def _fetch(self, uidvalidity: int, uids: list[int]) -> list[FetchedMessage]:
        s = self.settings
        errors: dict[int, str] = {}
        with self._io("FETCH"):
            try:
                data = self._client.fetch(uids, _FETCH_ITEMS)
            except imaplib.IMAP4.error as exc:
                # One unreadable message fails the whole command (Dovecot even hangs up):
                # fetch one by one so the others still go through.
                log.warning("IMAP %s: batch FETCH failed (%s); fetching %d one by one", s.name, exc, len(uids))
                if isinstance(exc, imaplib.IMAP4.abort):
                    self._reselect(uidvalidity)
                data = {}
                for uid in uids:
                    try:
                        data.update(self._client.fetch([uid], _FETCH_ITEMS))
                    except imaplib.IMAP4.error as one_exc:
                        log.warning("IMAP %s: skipping UID %d this round: %s", s.name, uid, one_exc)
                        errors[uid] = str(one_exc)[:300]
                        if isinstance(one_exc, imaplib.IMAP4.abort):
                            self._reselect(uidvalidity)
        messages = []
        for uid in uids:
            item = data.get(uid) or {}
            raw = item.get(b"BODY[]")
            if raw is None:
                if uid in data:
                    log.warning("IMAP %s: UID %d came back without a body; retrying next round", s.name, uid)
                rounds, _ = self._unreadable.get(uid, (0, ""))
                self._unreadable[uid] = (rounds + 1, errors.get(uid, "no body in the FETCH answer"))
                continue
            self._unreadable.pop(uid, None)
            internal = item.get(b"INTERNALDATE")
            messages.append(
                FetchedMessage(
                    mailbox=s.name,
                    folder=s.folder,
                    source_key=imap_source_key(s.folder, uidvalidity, uid),
                    uidvalidity=uidvalidity,
                    uid=uid,
                    raw=bytes(raw),
                    internal_date_at=internal.astimezone(UTC) if internal is not None else None,
                )
            )
        return messages

    def _mark(self, uids: list[int]) -> None:
        s = self.settings
        client = self._client
        if not uids:
            return
        if s.processed_action == "flag":
            with self._io("STORE +FLAGS"):
                client.add_flags(uids, [s.processed_flag], silent=True)
            return
        with self._io(f"MOVE to {s.move_to}"):
            if not self._move_target_ready:
                if not client.folder_exists(s.move_to):
                    log.info("IMAP %s: creating folder %s", s.name, s.move_to)
                    client.create_folder(s.move_to)
                self._move_target_ready = True
            if client.has_capability("MOVE") and not s.force_copy_expunge:
                client.move(uids, s.move_to)
                return
            log.debug("IMAP %s: moving %d message(s) by COPY + EXPUNGE", s.name, len(uids))
            client.copy(uids, s.move_to)
            client.add_flags(uids, [DELETED], silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(uids)
            else:
                # Without UIDPLUS, EXPUNGE also removes what other clients marked \Deleted.
                log.warning("IMAP %s: server lacks UIDPLUS; plain EXPUNGE of %s", s.name, s.folder)
                client.expunge()


def _is_new_mail(response: tuple) -> bool:
    return len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT")
