"""Decode raw header values: 8-bit repair, RFC 2047 words, addresses and Message-ID lists."""

from __future__ import annotations

import codecs
import email.header
import email.message
import email.utils
import logging
import re

log = logging.getLogger(__name__)

_MSGID_TOKEN = re.compile(r"<([^<>\s]+)>")
_BARE_MSGID = re.compile(r"^[^\s<>@]+@[^\s<>@]+$")
_FOLD = re.compile(r"\r?\n[ \t]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ONE_ADDRESS = re.compile(r"^[^\s,;<>@]+@[^\s,;<>@]+$")
# Headers whose 8-bit bytes we had to guess at; a header is tried as UTF-8 first
# because that is what modern clients send unencoded (RFC 6532).
_FALLBACK_8BIT = "latin-1"


def repair_8bit(value: str, defects: list[str] | None = None, name: str = "") -> str:
    """Turn surrogate-escaped raw bytes (from a bytes parse) back into text."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    raw = value.encode("ascii", "surrogateescape") if _is_escaped(value) else None
    if raw is None:
        return value.encode("utf-8", "replace").decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if defects is not None:
            defects.append(f"8-bit header {name or '?'} is not UTF-8, decoded as latin-1")
        return raw.decode(_FALLBACK_8BIT)


def _is_escaped(value: str) -> bool:
    try:
        value.encode("ascii", "surrogateescape")
        return True
    except UnicodeEncodeError:
        return False


def decode_header_value(value: object, defects: list[str] | None = None, name: str = "") -> str:
    """Decode one raw header value to a single-line str (RFC 2047, 8-bit, folding)."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        value = str(value)
    text = repair_8bit(str(value), defects, name)
    text = _FOLD.sub(" ", text)
    if "=?" in text:
        text = _decode_words(text, defects, name)
    return _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " ")).strip()


def _decode_words(text: str, defects: list[str] | None, name: str) -> str:
    try:
        chunks = email.header.decode_header(text)
    except (ValueError, LookupError, AssertionError, IndexError):
        return text
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset, defects, f"header {name}"))
    return "".join(out)


# The charsets mail is most often mislabelled with: a client or gateway that writes UTF-8
# but declares its default Western charset ("JosÃ©" for "José"). Text really written in one
# of them is not valid UTF-8 once it holds a lower-case accented letter (a UTF-8 lead byte
# must be followed by the right number of bytes 0x80-0xBF). What is left, a capital or ß
# right before a symbol ("NESCAFÉ®", "weiß…"), reads as a letter of another script or an
# IPA sign: UTF-8 is believed only when every character it gives is Latin (U+00A0-U+017F)
# or from U+0800 on (punctuation, currency, CJK, emoji), which two Latin-1 bytes never give.
_OFTEN_MISLABELLED = frozenset({"iso8859-1", "iso8859-15", "cp1252"})   # codecs' names
_NOT_FROM_WESTERN_UTF8 = re.compile("[\x80-\x9f\u0180-\u07ff]")


def _mislabelled(declared: str | None) -> bool:
    try:
        return declared is not None and codecs.lookup(declared).name in _OFTEN_MISLABELLED
    except LookupError:
        return False


def _utf8_in_disguise(data: bytes) -> str | None:
    if data.isascii():
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _NOT_FROM_WESTERN_UTF8.search(text) else text


def decode_bytes(data: bytes, charset: str | None, defects: list[str] | None, where: str) -> str:
    """Decode bytes with the declared charset, else UTF-8, else cp1252/latin-1, noting why;
    UTF-8 declared as a Western charset is read as UTF-8."""
    declared = (charset or "").strip().strip('"').lower() or None
    if declared in ("unknown-8bit", "x-unknown", "unknown"):
        known = False
    else:
        known = True
    if _mislabelled(declared) and (text := _utf8_in_disguise(data)) is not None:
        if defects is not None:
            defects.append(f"mislabelled charset {declared} in {where}, decoded as utf-8")
        return text
    if declared and known:
        try:
            text = data.decode(declared)
            text.encode("utf-8")
            return text
        except LookupError:
            known = False
        except UnicodeError:
            pass
    try:
        text = data.decode("utf-8")
        if declared and defects is not None:
            reason = "unknown charset" if not known else "mislabelled charset"
            defects.append(f"{reason} {declared} in {where}, decoded as utf-8")
        return text
    except UnicodeDecodeError:
        pass
    try:
        text, used = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, used = data.decode("latin-1"), "latin-1"
    if defects is not None:
        if declared is None:
            defects.append(f"undeclared 8-bit text in {where}, decoded as {used}")
        else:
            reason = "unknown charset" if not known else "mislabelled charset"
            defects.append(f"{reason} {declared} in {where}, decoded as {used}")
    return text


def parse_addresses(values: list[str]) -> tuple[tuple[str, str], ...]:
    """(name, lower-cased address) pairs from decoded header values, dropping empties."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    try:
        parsed = email.utils.getaddresses(values)
    except (ValueError, IndexError, TypeError):
        parsed = []
    for name, addr in parsed:
        if "=?" in addr:   # RFC 2047 words inside an addr-spec: not allowed, but sent
            decoded = decode_header_value(addr)
            addr = decoded if _ONE_ADDRESS.match(decoded) else ""
        name, addr = _CONTROL.sub("", name), _CONTROL.sub("", addr)   # NUL and friends
        addr = addr.strip().strip("<>").strip().lower()
        if not addr or "@" not in addr or addr in seen:
            continue
        seen.add(addr)
        pairs.append((name.strip().strip('"').strip(), addr))
    return tuple(pairs)


def normalise_msgid(token: str) -> str:
    """A Message-ID without brackets or whitespace; the domain part lower-cased."""
    token = token.strip().strip("<>").strip()
    token = re.sub(r"\s+", "", token)
    local, at, domain = token.rpartition("@")
    if at:
        return f"{local}@{domain.lower()}"
    return token


def parse_msgid_list(values: list[str], *, exclude: str = "") -> tuple[str, ...]:
    """Message-IDs from References/In-Reply-To: <...> tokens, in order, deduplicated.

    Real headers carry garbage (comments, bare ids, quoted names, a message that
    lists itself); only bracketed tokens count, except a lone bare id@domain.
    """
    seen: set[str] = {exclude} if exclude else set()
    out: list[str] = []
    for value in values:
        tokens = _MSGID_TOKEN.findall(value)
        if not tokens and _BARE_MSGID.match(value.strip()):
            tokens = [value.strip()]
        for token in tokens:
            msgid = normalise_msgid(token)
            if not msgid or msgid in seen:
                continue
            seen.add(msgid)
            out.append(msgid)
    return tuple(out)


def first_msgid(value: str) -> str:
    """The Message-ID in a Message-ID header value, or '' when there is none usable."""
    tokens = _MSGID_TOKEN.findall(value)
    if tokens:
        return normalise_msgid(tokens[0])
    value = value.strip()
    if value and " " not in value and len(value) < 1000:
        return normalise_msgid(value)
    return ""


_PLAIN_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_NAME_WORD = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+"      # no '=' or '?': never an encoded word
_PLAIN_ADDR = rf"{_PLAIN_ATOM}(?:\.{_PLAIN_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_PLAIN_MAILBOX = (rf"(?:{_PLAIN_ADDR}|(?:(?:{_PLAIN_NAME_WORD}(?: {_PLAIN_NAME_WORD})*"
                  rf'|"[ !#-\[\]-~]+") ?)?<{_PLAIN_ADDR}>)')
# Four in five address fields: ASCII mailboxes, bare or with a plain or quoted name, one line.
# mail-parser notes nothing on them (checked on the corpora's fields and generated ones).
PLAIN_ADDRESSES = re.compile(rf"[ \t]*{_PLAIN_MAILBOX}(?:[ \t]*,[ \t]*{_PLAIN_MAILBOX})*[ \t]*")


def address_header_notes(msg: email.message.Message) -> list[dict]:
    """mail-parser's address-header diagnostics (MailParser.address_header_defects), in its
    order, without the rest of its parse: every occurrence of each address header."""
    from mailparser.const import ADDRESSES_HEADERS
    from mailparser.utils import get_addresses

    index: dict[str, list] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        if key in ADDRESSES_HEADERS:
            # What Message.items() hands mail-parser: the policy's view of the raw value.
            index.setdefault(key, []).append(msg.policy.header_fetch_parse(name, value))
    notes: list[dict] = []
    for header in sorted(index):
        for occurrence, value in enumerate(index[header]):
            if isinstance(value, str) and PLAIN_ADDRESSES.fullmatch(value):
                continue            # nothing for mail-parser to note: its scan is skipped
            found: list[dict] = []
            get_addresses(value, defects=found, decode_names=True)
            for note in found:
                note.update(header=header, occurrence=occurrence)
            notes.extend(found)
    return notes
