"""Is mail from an agent address really from that agent? Signed reply address or trusted DKIM/DMARC."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from mailproc.signing import verify_reply_address

log = logging.getLogger(__name__)
_PERSON_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,40}")

_COMMENT = re.compile(r"\([^()]*\)")
_RESINFO = re.compile(r"^\s*([a-z0-9_-]+)\s*=\s*([a-z0-9_-]+)(.*)$", re.IGNORECASE | re.DOTALL)
_PROP = re.compile(r"([a-z0-9_-]+\.[a-z0-9_.-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)", re.IGNORECASE)


@dataclass(frozen=True)
class AuthResult:
    method: str                       # dkim, dmarc, spf, ...
    result: str                       # pass, fail, none, ...
    props: dict = field(default_factory=dict, compare=False)   # e.g. {"header.d": "example.com"}


@dataclass(frozen=True)
class AuthenticationResults:
    authserv_id: str
    results: tuple[AuthResult, ...]


@dataclass(frozen=True)
class Authenticity:
    authentic: bool
    method: str                       # "signed_address" | "dkim" | "dmarc" | "none"
    reason: str


def person_reply_ref(case_ref: str, person_key: str) -> str | None:
    """The ref signed into the Reply-To of a lead's, manager's or vendor's escalation mail:
    `<case ref>--<key>` (a double dash: never an agent's `<case ref>-<agent key>`). None when
    the key cannot stand in an address."""
    ref = f"{case_ref}--{person_key.strip().lower()}"
    return ref if _PERSON_KEY.fullmatch(person_key.strip().lower()) and len(ref) <= 64 else None


def split_person_ref(ref: str) -> tuple[str, str] | None:
    """(case ref, person key) of a `person_reply_ref`, else None."""
    case_ref, sep, key = ref.partition("--")
    return (case_ref, key) if sep and case_ref and key else None


def agent_reply_ref(case_ref: str, agent_key: str) -> str:
    """The ref signed into the Reply-To of an agent's notification: `<case ref>-<agent key>`.

    Customers get `support+<ref>.<sig>` in their own mail; binding the agent's key into the
    signature means a customer (who has their own signed address) cannot pose as an agent.
    """
    return f"{case_ref}-{agent_key}".lower()


def parse_authentication_results(value: str) -> AuthenticationResults | None:
    """One Authentication-Results header value (RFC 8601); None when it has no authserv-id."""
    text = value or ""
    for _ in range(3):  # comments may nest a little; three passes is plenty for real headers
        text = _COMMENT.sub(" ", text)
    parts = [p.strip() for p in text.replace("\r", " ").replace("\n", " ").split(";")]
    if not parts or not parts[0]:
        return None
    authserv_id = parts[0].split()[0].lower()
    results = []
    for part in parts[1:]:
        m = _RESINFO.match(part)
        if not m:
            continue
        props = {k.lower(): v.strip('"').lower() for k, v in _PROP.findall(m.group(3))}
        results.append(AuthResult(m.group(1).lower(), m.group(2).lower(), props))
    return AuthenticationResults(authserv_id, tuple(results))


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment (RFC 7489 3.1.1): same domain or one a subdomain of the other."""
    domain = domain.lstrip("@").lower()
    if "@" in domain:
        domain = domain.rpartition("@")[2]
    return bool(domain) and (domain == from_domain or from_domain.endswith("." + domain)
                             or domain.endswith("." + from_domain))


def check_auth_results(headers: Sequence[str], from_addr: str,
                       trusted_authserv_ids: Sequence[str]) -> Authenticity:
    """Believe only the first header from a trusted authserv-id: our MTA adds its verdict on
    top and removes forged copies below (RFC 8601 section 5); anything further down may be
    the sender's own invention."""
    trusted = {t.lower() for t in trusted_authserv_ids}
    from_domain = from_addr.rpartition("@")[2].lower()
    if not trusted:
        return Authenticity(False, "none", "no trusted authserv-id configured for this agent")
    for value in headers:
        parsed = parse_authentication_results(value)
        if parsed is None or parsed.authserv_id not in trusted:
            continue
        for res in parsed.results:
            if res.method == "dmarc" and res.result == "pass" and _aligned(
                    res.props.get("header.from", ""), from_domain):
                return Authenticity(True, "dmarc", f"{parsed.authserv_id}: dmarc=pass "
                                                   f"header.from={res.props.get('header.from')}")
        for res in parsed.results:
            signer = res.props.get("header.d") or res.props.get("header.i", "")
            if res.method == "dkim" and res.result == "pass" and _aligned(signer, from_domain):
                return Authenticity(True, "dkim", f"{parsed.authserv_id}: dkim=pass "
                                                  f"header.d={signer}")
        return Authenticity(False, "none", f"{parsed.authserv_id} reports no aligned "
                                           f"dkim/dmarc pass for {from_domain}")
    return Authenticity(False, "none", "no Authentication-Results from a trusted authserv-id")


def check_agent(*, from_addr: str, agent_key: str, case_ref: str | None,
                recipients: Sequence[str], auth_results: Sequence[str],
                trusted_authserv_ids: Sequence[str], support_address: str,
                key: bytes, merged_refs: Sequence[str] = ()) -> Authenticity:
    """Authentic when the mail went to this agent's signed address for this case, or for a
    case merged into it (HMAC, constant-time compare in mailproc.signing), or our MTA vouches
    for the From domain."""
    for ref_of_case in ([case_ref] if case_ref else []) + list(merged_refs):
        wanted = agent_reply_ref(ref_of_case, agent_key)
        for address in recipients:
            ref = verify_reply_address(address, support_address, key)
            if ref is not None and ref == wanted:
                return Authenticity(True, "signed_address",
                                    f"sent to {agent_key}'s signed address for case "
                                    f"{ref_of_case}")
    verdict = check_auth_results(auth_results, from_addr, trusted_authserv_ids)
    if not verdict.authentic:
        verdict = Authenticity(False, "none", f"not this agent's signed address for the case, "
                                              f"and {verdict.reason}")
    return verdict
