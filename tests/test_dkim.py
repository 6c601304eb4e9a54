"""DKIM: every outgoing mail is signed just before the transport, and a receiver that checks
the published record accepts the signature: acknowledgements, relays with attachments and
mail with UTF-8 headers, captured at a real SMTP server (aiosmtpd) (issue 20 item 4)."""

from __future__ import annotations

import json
from dataclasses import replace
from email import message_from_bytes, policy

import dkim
import pytest

from mailproc.config import DkimSettings
from mailproc.delivery.dkim import (
    dns_record, generate_key, load_signer, record_value, signer_from_pem,
)
from mailproc.errors import ConfigError
from mailproc.runners.outbound import deliver_due
from tests.agent_helpers import agent_app, feed, mail, outbox
from tests.test_cli import embedded, invoke  # noqa: F401 - the fixture is used by name

DOMAIN, SELECTOR = "example.com", "mp2026"


def published(value: str):
    """A resolver that knows only our record, as dkimpy asks it."""
    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return value.encode() if name.rstrip(".") == f"{SELECTOR}._domainkey.{DOMAIN}" else None
    return dnsfunc


def signed_app(db, tmp_path, sink, kind: str):
    pem, value = generate_key(kind)
    key = tmp_path / f"dkim-{kind}.pem"
    key.write_bytes(pem)
    app = agent_app(db, tmp_path)
    out = replace(app.settings.outgoing, transport="smtp", host=sink.host, port=sink.port,
                  tls="none", user="", dkim=DkimSettings(domain=DOMAIN, selector=SELECTOR,
                                                          key_file=str(key)))
    app.settings = replace(app.settings, outgoing=out)
    return app, value


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_acknowledgements_relays_and_utf8_mail_verify_at_the_receiver(db, tmp_path, smtp_sink,
                                                                      kind):
    app, value = signed_app(db, tmp_path, smtp_sink, kind)
    feed(app, mail(frm="Maria Keller <maria@kunde.example>", subject="Drucker druckt nicht",
                   msgid="<d1@kunde.example>", body="Der Drucker im 3. Stock druckt nicht."))
    feed(app, mail(frm="Jürgen Müßig <jürgen@kunde.example>", subject="Größe des Postfachs",
                   msgid="<d2@kunde.example>", body="Mein Postfach ist voll. Grüße"))
    (note, _) = [message_from_bytes(n.raw, policy=policy.default)
                 for n in outbox(app, "agent_notify")]
    feed(app, mail(frm="Alice Adams <alice@example.com>", to=note["Reply-To"],
                   subject="Re: " + note["Subject"], in_reply_to=note["Message-ID"],
                   body="Bitte den Treiber aus dem Anhang installieren.",
                   attachments=[("treiber.zip", "application/zip", b"PK\x03\x04" * 300)]))
    before = len(smtp_sink.messages)
    results = deliver_due(app)
    assert results and all(r.result == "sent" for r in results), results
    captured = smtp_sink.wait_for(before + len(results))[before:]
    kinds = set()
    for message in captured:
        assert message.raw.startswith(b"DKIM-Signature:")
        assert dkim.verify(message.raw, dnsfunc=published(value)), message.raw[:400]
        parsed = message_from_bytes(message.raw, policy=policy.default)
        kinds.add(parsed["Subject"])
        signature = parsed["DKIM-Signature"]
        assert f"d={DOMAIN}" in signature and f"s={SELECTOR}" in signature
        assert f"a={kind}-sha256" in signature.replace(" ", "")
    assert any("jürgen" in " ".join(m.rcpt_tos) for m in captured)       # SMTPUTF8
    relay = next(m for m in captured if b"treiber.zip" in m.raw)
    assert dkim.verify(relay.raw, dnsfunc=published(value))
    # a changed byte anywhere signed fails: the receiver would see tampering
    tampered = relay.raw.replace(b"Treiber", b"Trieber", 1)
    assert not dkim.verify(tampered, dnsfunc=published(value))


def test_a_short_or_foreign_key_is_refused(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    curve = ec.generate_private_key(ec.SECP256R1())
    for key, why in ((short, "too short"), (curve, "cannot sign DKIM")):
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        with pytest.raises(ConfigError, match=why):
            signer_from_pem(pem, domain=DOMAIN, selector=SELECTOR)
    with pytest.raises(ConfigError, match="not an unencrypted PEM"):
        signer_from_pem(b"not a key", domain=DOMAIN, selector=SELECTOR)


def test_configuration_mistakes_name_the_setting(db, tmp_path):
    app = agent_app(db, tmp_path)

    def with_dkim(**kw):
        return replace(app.settings, outgoing=replace(app.settings.outgoing,
                                                      dkim=DkimSettings(**kw)))
    assert load_signer(app.settings) is None                       # not configured: unsigned
    with pytest.raises(ConfigError, match="set both domain and selector"):
        load_signer(with_dkim(domain=DOMAIN))
    with pytest.raises(ConfigError, match="exactly one of key_file"):
        load_signer(with_dkim(domain=DOMAIN, selector=SELECTOR))
    with pytest.raises(ConfigError, match="cannot read"):
        load_signer(with_dkim(domain=DOMAIN, selector=SELECTOR, key_file=str(tmp_path / "no")))


def test_keygen_writes_a_private_key_and_prints_the_record(embedded, tmp_path):  # noqa: F811
    out = tmp_path / "keys" / "dkim.pem"
    result = invoke(embedded, "dkim", "keygen", "--out", str(out), "--domain", DOMAIN,
                    "--selector", SELECTOR, "--type", "ed25519")
    assert result.exit_code == 0, result.output
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert f'{SELECTOR}._domainkey.{DOMAIN}. IN TXT ( "v=DKIM1; k=ed25519; p=' in result.output
    assert record_value(out.read_bytes()) in result.output
    again = invoke(embedded, "dkim", "keygen", "--out", str(out), "--domain", DOMAIN,
                   "--selector", SELECTOR)
    assert again.exit_code != 0 and "not overwritten" in again.output
    long = dns_record(DOMAIN, SELECTOR, generate_key("rsa")[1])
    assert all(len(chunk) <= 250 for chunk in long.split('"')[1::2])


def test_doctor_and_record_read_the_configured_key(embedded, tmp_path):  # noqa: F811
    out = tmp_path / "dkim.pem"
    assert invoke(embedded, "dkim", "keygen", "--out", str(out), "--domain", DOMAIN,
                  "--selector", SELECTOR).exit_code == 0
    embedded.write_text(embedded.read_text() + (
        f'\n[outgoing.dkim]\ndomain = "{DOMAIN}"\nselector = "{SELECTOR}"\nkey_file = "{out}"\n'))
    assert invoke(embedded, "db", "upgrade").exit_code == 0
    checks = {c["name"]: c for c in json.loads(invoke(embedded, "doctor", "--json").output)}
    assert checks["dkim"]["ok"] and "d=example.com s=mp2026 (rsa-sha256)" in checks["dkim"][
        "detail"]
    assert invoke(embedded, "dkim", "record").output.strip() == dns_record(
        DOMAIN, SELECTOR, record_value(out.read_bytes()))
    out.write_bytes(b"garbage")
    failed = invoke(embedded, "doctor")
    assert failed.exit_code != 0 and "dkim: outgoing.dkim: the key is not an unencrypted PEM" \
        in failed.output
