"""`mailproc doctor` on the sending domain: MX, SPF, DKIM and DMARC as receivers see them.

The support address's domain must take replies (MX), allow the relay mailproc sends
through (SPF), publish the key mailproc signs with (DKIM) and a DMARC policy that one of
them aligns with. Each problem says what to publish. DNS that cannot be reached is said,
as a warning, and never fails the other checks.

SPF is evaluated for the relay's addresses over the mechanisms a support domain uses
(`ip4`, `ip6`, `a`, `mx`, `include`, `redirect`, `all`), to the RFC 7208 limit of ten
lookups; `exists`, macros and `ptr` count as "cannot tell".
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import dns.exception
import dns.resolver

MAX_LOOKUPS = 10


@dataclass(frozen=True)
class DomainCheck:
    name: str
    ok: bool
    detail: str
    warn: bool = False


class Unreachable(Exception):
    """No DNS server answered."""


def resolver(nameserver: str | None = None) -> dns.resolver.Resolver:
    """The system's resolver, or `host[:port]` (MAILPROC_DNS_SERVER: a split-horizon DNS, or
    the tests' own server)."""
    if not nameserver:
        return dns.resolver.Resolver()
    res = dns.resolver.Resolver(configure=False)
    host, _, port = nameserver.rpartition(":") if nameserver.count(":") == 1 else (
        nameserver, "", "")
    res.nameservers = [host or nameserver]
    res.port = int(port) if port else 53
    res.lifetime = res.timeout = 3.0
    return res


def _txt(res, name: str) -> list[str]:
    try:
        answer = res.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.resolver.LifetimeTimeout, dns.resolver.NoNameservers) as exc:
        raise Unreachable(str(exc)) from None
    return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]


def _addresses(res, name: str) -> list[str]:
    out = []
    for kind in ("A", "AAAA"):
        try:
            out += [r.to_text() for r in res.resolve(name, kind)]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
        except (dns.resolver.LifetimeTimeout, dns.resolver.NoNameservers) as exc:
            raise Unreachable(str(exc)) from None
    return out


def _mx(res, domain: str) -> list[str]:
    try:
        return [r.exchange.to_text().rstrip(".") for r in res.resolve(domain, "MX")]
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.resolver.LifetimeTimeout, dns.resolver.NoNameservers) as exc:
        raise Unreachable(str(exc)) from None


def spf_allows(res, domain: str, ips: list[str], lookups: list[int] | None = None) -> str:
    """'pass', 'fail' (the record ends in -all/~all without naming the relay), 'none' (no
    record) or 'unknown' (a mechanism we do not evaluate, or too many lookups)."""
    lookups = lookups if lookups is not None else [0]
    lookups[0] += 1
    if lookups[0] > MAX_LOOKUPS:
        return "unknown"
    records = [t for t in _txt(res, domain) if t.lower().startswith("v=spf1")]
    if len(records) != 1:
        return "none" if not records else "unknown"
    addresses = [ipaddress.ip_address(ip) for ip in ips]
    redirect = None
    for term in records[0].split()[1:]:
        qualifier, term = (term[0], term[1:]) if term[0] in "+-~?" else ("+", term)
        mech, _, arg = term.partition(":")
        mech = mech.lower()
        if mech.startswith("redirect="):
            redirect = term.split("=", 1)[1]
            continue
        if mech in ("ip4", "ip6"):
            net = ipaddress.ip_network(arg, strict=False)
            hit = any(a.version == net.version and a in net for a in addresses)
        elif mech == "a" or mech.startswith("a/"):
            hit = bool(set(_addresses(res, arg or domain)) & set(ips))
        elif mech == "mx":
            hit = any(set(_addresses(res, host)) & set(ips) for host in _mx(res, arg or domain))
        elif mech == "include":
            hit = spf_allows(res, arg, ips, lookups) == "pass"
        elif mech == "all":
            return "pass" if qualifier == "+" else "fail"
        else:
            return "unknown"
        if hit:
            return "pass" if qualifier == "+" else "fail"
    return spf_allows(res, redirect, ips, lookups) if redirect else "fail"


def check_domain(*, address: str, relay_host: str | None, dkim_domain: str = "",
                 dkim_selector: str = "", dkim_record: str = "",
                 nameserver: str | None = None) -> list[DomainCheck]:
    domain = address.rpartition("@")[2].lower()
    res = resolver(nameserver)
    try:
        return _checks(res, domain, relay_host, dkim_domain, dkim_selector, dkim_record)
    except Unreachable as exc:
        return [DomainCheck("dns", True, warn=True, detail=(
            f"DNS cannot be reached ({exc}): MX, SPF, DKIM and DMARC of {domain} not checked"))]


def _checks(res, domain, relay_host, dkim_domain, selector, record) -> list[DomainCheck]:
    out = []
    mx = _mx(res, domain)
    out.append(DomainCheck("mx", bool(mx), f"{domain} MX {', '.join(mx)}" if mx else (
        f"{domain} has no MX: customers' replies cannot reach it; publish an MX record")))
    verdict = None
    if relay_host:
        ips = _relay_addresses(res, relay_host)
        verdict = spf_allows(res, domain, ips) if ips else "unknown"
        detail = {
            "pass": f"SPF of {domain} allows the relay {relay_host}",
            "fail": f"SPF of {domain} does not allow the relay {relay_host} "
                    f"({', '.join(ips)}): add include: of your provider or ip4:/ip6: for it",
            "none": f"{domain} publishes no SPF record: publish \"v=spf1 "
                    f"{' '.join(_mechanism(ip) for ip in ips)} -all\"",
            "unknown": f"SPF of {domain} for {relay_host}: cannot tell (record uses macros, "
                       "exists or ptr, or more than ten lookups)"}[verdict]
        out.append(DomainCheck("spf", verdict == "pass", detail, warn=verdict == "unknown"))
    if dkim_domain and selector:
        name = f"{selector}._domainkey.{dkim_domain}"
        published = [t for t in _txt(res, name) if "p=" in t]
        want = _p(record)
        if not published:
            out.append(DomainCheck("dkim dns", False, f"{name} has no DKIM record: publish "
                                                      "`mailproc dkim record`"))
        elif want not in {_p(t) for t in published}:
            out.append(DomainCheck("dkim dns", False, f"{name} publishes another key than "
                                                      "mailproc signs with: publish "
                                                      "`mailproc dkim record`"))
        else:
            out.append(DomainCheck("dkim dns", True, f"{name} matches the signing key"))
    out.append(_dmarc(res, domain, dkim_domain, spf_passed=verdict == "pass"))
    return out


def _dmarc(res, domain: str, dkim_domain: str, *, spf_passed: bool) -> DomainCheck:
    records = [t for t in _txt(res, f"_dmarc.{domain}") if t.lower().startswith("v=dmarc1")]
    if not records:
        return DomainCheck("dmarc", False, f"_dmarc.{domain} has no DMARC record: publish "
                                           f"\"v=DMARC1; p=none; rua=mailto:postmaster@{domain}\""
                                           " and tighten p= once reports look right")
    tags = dict(t.strip().split("=", 1) for t in records[0].split(";") if "=" in t)
    strict = tags.get("adkim", "r").strip().lower() == "s"
    aligned = bool(dkim_domain) and (dkim_domain == domain or (
        not strict and (domain.endswith("." + dkim_domain) or dkim_domain.endswith("." + domain))))
    if aligned or spf_passed:
        how = "DKIM d=" + dkim_domain if aligned else "SPF (the envelope sender is the address)"
        return DomainCheck("dmarc", True, f"p={tags.get('p', '?').strip()}; aligned by {how}")
    return DomainCheck("dmarc", False, f"p={tags.get('p', '?').strip()}, but no DKIM signature "
                                       f"aligns with {domain}: set [outgoing.dkim] domain = "
                                       f"\"{domain}\"")


def _relay_addresses(res, host: str) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    found = _addresses(res, host)
    if not found:
        try:
            found = sorted({ai[4][0] for ai in socket.getaddrinfo(host, None)})
        except OSError:
            found = []
    return found


def _mechanism(ip: str) -> str:
    return f"ip{ipaddress.ip_address(ip).version}:{ip}"


def _p(record: str) -> str:
    tags = dict(t.strip().split("=", 1) for t in record.split(";") if "=" in t)
    return "".join(tags.get("p", "").split())
