"""Signed reply addresses and generic HMAC signatures."""

import hmac
import logging

import pytest

from mailproc.errors import ConfigError
from mailproc.signing import (
    SIG_LENGTH,
    SignedRef,
    find_signed_ref,
    sign,
    sign_reply_address,
    verify,
    verify_reply_address,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
SUPPORT = "support@example.com"


def test_round_trip():
    address = sign_reply_address(SUPPORT, "1042", KEY)
    local, domain = address.split("@")
    assert domain == "example.com"
    assert local.startswith("support+1042.")
    assert 10 <= len(local.rsplit(".", 1)[1]) <= 16
    assert verify_reply_address(address, SUPPORT, KEY) == "1042"


def test_different_refs_get_different_signatures():
    sigs = {sign_reply_address(SUPPORT, str(ref), KEY).split(".")[1] for ref in range(50)}
    assert len(sigs) == 50


def test_display_name_and_support_address_forms():
    address = sign_reply_address("Support Team <Support@Example.COM>", "7", KEY)
    assert address.endswith("@example.com")
    assert verify_reply_address(f"Support <{address}>", SUPPORT, KEY) == "7"


def test_case_insensitive_local_part_and_domain():
    address = sign_reply_address(SUPPORT, "1042", KEY)
    assert verify_reply_address(address.upper(), SUPPORT, KEY) == "1042"
    assert verify_reply_address(address.lower(), "SUPPORT@EXAMPLE.COM", KEY) == "1042"


def test_tampered_signature_is_rejected():
    address = sign_reply_address(SUPPORT, "1042", KEY)
    local, domain = address.split("@")
    ref_part, sig = local.rsplit(".", 1)
    flipped = ("a" if sig[0] != "a" else "b") + sig[1:]
    assert verify_reply_address(f"{ref_part}.{flipped}@{domain}", SUPPORT, KEY) is None
    assert verify_reply_address(f"{ref_part}.{sig[:-1]}@{domain}", SUPPORT, KEY) is None
    # The signature of one ref does not vouch for another.
    assert verify_reply_address(f"support+1043.{sig}@{domain}", SUPPORT, KEY) is None


def test_wrong_key_is_rejected():
    address = sign_reply_address(SUPPORT, "1042", KEY)
    assert verify_reply_address(address, SUPPORT, OTHER_KEY) is None


@pytest.mark.parametrize(
    "address",
    [
        "",
        "support@example.com",
        "support+1042@example.com",
        "support+.aaaaaaaaaaaaaaaa@example.com",
        "not an address",
        "support+1042.x@example.com@evil.com",
        '"support+1042.abc"@example.com',
    ],
)
def test_missing_or_malformed_signature(address):
    assert verify_reply_address(address, SUPPORT, KEY) is None


def test_other_domain_or_local_part_is_rejected():
    address = sign_reply_address(SUPPORT, "1042", KEY)
    local = address.split("@")[0]
    assert verify_reply_address(f"{local}@evil.example", SUPPORT, KEY) is None
    assert verify_reply_address(address.replace("support+", "sales+"), SUPPORT, KEY) is None
    assert verify_reply_address(address, "help@example.com", KEY) is None


def test_compare_digest_is_used(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    address = sign_reply_address(SUPPORT, "1042", KEY)
    assert verify_reply_address(address, SUPPORT, KEY) == "1042"
    assert verify_reply_address(address, SUPPORT, OTHER_KEY) is None
    assert len(calls) == 2
    assert verify("msg-1", sign("msg-1", KEY, "message-id"), KEY, "message-id")
    assert len(calls) == 3


def test_generic_sign_and_verify_separate_purposes():
    sig = sign("<abc@example.com>", KEY, "message-id")
    assert len(sig) == SIG_LENGTH and sig == sig.lower()
    assert verify("<abc@example.com>", sig, KEY, "message-id")
    assert verify("<abc@example.com>", sig.upper(), KEY, "message-id")
    assert not verify("<abc@example.com>", sig, KEY, "reply-address")
    assert not verify("<abd@example.com>", sig, KEY, "message-id")
    assert not verify("<abc@example.com>", sig, OTHER_KEY, "message-id")
    assert not verify("<abc@example.com>", "", KEY, "message-id")
    assert not verify("<abc@example.com>", "é" * SIG_LENGTH, KEY, "message-id")


@pytest.mark.parametrize("key", [b"", "text-key", None])
def test_bad_key_is_a_config_error(key):
    with pytest.raises(ConfigError):
        sign("x", key, "p")


def test_find_signed_ref_scans_header_values():
    good = sign_reply_address(SUPPORT, "55", KEY)
    forged = "support+66.aaaaaaaaaaaaaaaa@example.com"
    found = find_signed_ref(
        ["Alice <alice@example.org>, " + forged, "", f"Bob <bob@example.org>, Support <{good}>", SUPPORT],
        SUPPORT, KEY,
    )
    assert found == SignedRef(ref="55", address=good)
    assert find_signed_ref([forged, SUPPORT, "x@y"], SUPPORT, KEY) is None
    assert find_signed_ref([], SUPPORT, KEY) is None


def test_key_never_logged(caplog):
    secret = b"super-secret-signing-key-123"
    address = sign_reply_address(SUPPORT, "9", secret)
    with caplog.at_level(logging.DEBUG, logger="mailproc.signing"):
        verify_reply_address(address, SUPPORT, OTHER_KEY)
        with pytest.raises(ConfigError) as excinfo:
            sign("x", b"", "p")
    assert caplog.records  # the bad signature was logged ...
    assert "super-secret" not in caplog.text and "o" * 32 not in caplog.text  # ... without keys
    assert "super-secret" not in str(excinfo.value)
