"""`mailproc doctor` on the sending domain: MX, SPF, DKIM and DMARC, asked of a DNS server
of the tests' own (dnslib, on loopback), never the internet (issue 20 item 5)."""

from __future__ import annotations

import json
import socket

import pytest
from dnslib.server import DNSLogger, DNSServer
from dnslib.zoneresolver import ZoneResolver

from mailproc.delivery.dkim import generate_key
from mailproc.ops.domain import check_domain
from tests.test_cli import embedded, invoke  # noqa: F401 - the fixture is used by name

PEM, RECORD = generate_key("ed25519")
OTHER = generate_key("ed25519")[1]
GOOD = {
    "mx": "example.com. 60 IN MX 10 mx.example.com.",
    "mx_a": "mx.example.com. 60 IN A 192.0.2.25",
    "relay": "relay.example.com. 60 IN A 127.0.0.1",
    "spf": 'example.com. 60 IN TXT "v=spf1 mx include:_spf.provider.example -all"',
    "include": '_spf.provider.example. 60 IN TXT "v=spf1 ip4:127.0.0.0/29 ~all"',
    "dkim": f'mp2026._domainkey.example.com. 60 IN TXT "{RECORD}"',
    "dmarc": '_dmarc.example.com. 60 IN TXT "v=DMARC1; p=reject; adkim=r"',
}


@pytest.fixture
def dns_zone():
    """Start a DNS server on loopback for the given zone lines; yields a starter."""
    servers = []

    def serve(**lines) -> str:
        zone = "\n".join(v for v in {**GOOD, **lines}.values() if v)
        quiet = DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        server = DNSServer(ZoneResolver(zone, glob=False), address="127.0.0.1", port=0,
                           logger=quiet)
        server.start_thread()
        servers.append(server)
        return f"127.0.0.1:{server.server.server_address[1]}"

    yield serve
    for server in servers:
        server.stop()


def check(nameserver: str, **kw) -> dict:
    args = {"address": "support@example.com", "relay_host": "relay.example.com",
            "dkim_domain": "example.com", "dkim_selector": "mp2026", "dkim_record": RECORD,
            "nameserver": nameserver, **kw}
    return {c.name: c for c in check_domain(**args)}


def test_a_domain_set_up_right_passes_every_check(dns_zone):
    found = check(dns_zone())
    assert {k: c.ok for k, c in found.items()} == {
        "mx": True, "spf": True, "dkim dns": True, "dmarc": True}
    assert "mx.example.com" in found["mx"].detail
    assert "aligned by DKIM d=example.com" in found["dmarc"].detail


def test_each_problem_says_what_to_publish(dns_zone):
    assert "publish an MX record" in check(dns_zone(mx=""))["mx"].detail
    spf = check(dns_zone(include='_spf.provider.example. 60 IN TXT "v=spf1 ip4:10.0.0.0/8 -all"'))
    assert not spf["spf"].ok and "add include: of your provider" in spf["spf"].detail
    none = check(dns_zone(spf=""))["spf"]
    assert not none.ok and 'publish "v=spf1 ip4:127.0.0.1 -all"' in none.detail
    missing = check(dns_zone(dkim=""))["dkim dns"]
    assert not missing.ok and "publish `mailproc dkim record`" in missing.detail
    other = check(dns_zone(dkim=f'mp2026._domainkey.example.com. 60 IN TXT "{OTHER}"'))
    assert "publishes another key" in other["dkim dns"].detail
    dmarc = check(dns_zone(dmarc=""))["dmarc"]
    assert not dmarc.ok and 'publish "v=DMARC1; p=none' in dmarc.detail


def test_dmarc_needs_an_aligned_signature_or_spf(dns_zone):
    nameserver = dns_zone(include='_spf.provider.example. 60 IN TXT "v=spf1 -all"')
    unsigned = check(nameserver, dkim_domain="", dkim_record="")["dmarc"]
    assert not unsigned.ok and 'set [outgoing.dkim] domain = "example.com"' in unsigned.detail
    by_spf = check(dns_zone(), dkim_domain="", dkim_record="")["dmarc"]
    assert by_spf.ok and "aligned by SPF" in by_spf.detail
    strict = dns_zone(dmarc='_dmarc.example.com. 60 IN TXT "v=DMARC1; p=reject; adkim=s"',
                      include='_spf.provider.example. 60 IN TXT "v=spf1 -all"')
    assert not check(strict, dkim_domain="mail.example.com")["dmarc"].ok
    assert check(strict, dkim_domain="example.com")["dmarc"].ok


def test_unreachable_dns_is_a_warning_not_a_failure():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:     # a port nobody answers
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        (only,) = check_domain(address="support@example.com", relay_host="127.0.0.1",
                               nameserver=f"127.0.0.1:{port}")
    assert only.ok and only.warn and "DNS cannot be reached" in only.detail


def test_doctor_checks_the_domain_when_mail_is_sent(embedded, dns_zone, smtp_sink,  # noqa: F811
                                                    monkeypatch, tmp_path):
    key = tmp_path / "dkim.pem"
    key.write_bytes(PEM)
    text = embedded.read_text().replace('transport = "file"', (
        f'transport = "smtp"\nhost = "127.0.0.1"\nport = {smtp_sink.port}\ntls = "none"'))
    embedded.write_text(text + f'\n[outgoing.dkim]\ndomain = "example.com"\n'
                               f'selector = "mp2026"\nkey_file = "{key}"\n')
    monkeypatch.setenv("MAILPROC_DNS_SERVER", dns_zone(
        include='_spf.provider.example. 60 IN TXT "v=spf1 ip4:127.0.0.1 -all"'))
    assert invoke(embedded, "db", "upgrade").exit_code == 0
    result = invoke(embedded, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.output)}
    assert all(checks[n]["ok"] for n in ("mx", "spf", "dkim dns", "dmarc", "dkim")), checks
