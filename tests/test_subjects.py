"""Subject normalisation, case tags and header safety."""

import pytest

from mailproc.thread.subjects import (
    find_case_tags, is_generic_subject, normalize_subject, tag_subject,
)

PREFIXES = [
    "Re:", "RE:", "re:", "Re[2]:", "Re(2):", "RE[12]:", "Re^2:", "Fwd:", "FWD:", "FW:", "Fw:",
    "AW:", "WG:", "SV:", "VS:", "Antw:", "Doorst:", "TR:", "RV:", "R:", "I:", "Odp:", "PD:",
    "YNT:", "ΑΠ:", "Απ:", "Ответ:", "Отв:", "答复:", "回复:", "转发:", "答复：", "回复：", "转发：",
    "Re :", "TR :", "Réf:", "Enc:", "Res:", "VB:", "Vl:", "RIF:", "İLT:", "ΣΧΕΤ:", "回覆:", "転送:",
    "Atb:", "Pārs:", "Pers:", "Edasi:", "Svar:", "Trả lời:", "Chuyển tiếp:", "ตอบกลับ:",
    "Balas:", "Teruskan:", "TOV:",
]


@pytest.mark.parametrize("subject", ["Atbalsts nedarbojas", "Persistence issue", "Vastaus odottaa", "Balasan invois",
                                     "ATS: candidate import fails", "VAST: ad tags broken"])
def test_words_that_start_like_a_prefix_are_kept(subject):
    assert normalize_subject(subject) == subject.lower()     # ATS and VAST are products' names


@pytest.mark.parametrize("prefix", PREFIXES)
def test_each_prefix_is_removed(prefix):
    assert normalize_subject(f"{prefix} Printer on floor 3 is jammed") == "printer on floor 3 is jammed"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: RE: Fwd: AW: Printer", "printer"),
        ("Re: [dev-list] Re: [dev-list] Build broken", "build broken"),
        ("[dev-list] Re: Build broken", "build broken"),
        ("Re: [#1042] VPN drops every hour", "vpn drops every hour"),
        ("[#1042] Re: VPN drops every hour", "vpn drops every hour"),
        ("VPN drops every hour [#1042]", "vpn drops every hour"),
        ("回复：转发：Ping", "ping"),
        ("Re:Re:Re:no spaces", "no spaces"),
        ("  Re:   Lots   of\t\tspace  ", "lots of space"),
        ("Re: Folded\r\n subject line", "folded subject line"),
        ("Meeting notes (fwd)", "meeting notes"),
        ("ＳＵＰＰＯＲＴ request", "support request"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
        ("", ""),
        (None, ""),
        ("Re:", ""),
    ],
)
def test_nested_bracketed_and_whitespace(subject, expected):
    assert normalize_subject(subject) == expected


@pytest.mark.parametrize(
    "subject",
    ["Regarding: the invoice", "Rest of the order", "I am locked out", "Invoice: March", "Answer this"],
)
def test_words_that_only_look_like_prefixes_stay(subject):
    assert normalize_subject(subject) == subject.casefold()


@pytest.mark.parametrize("subject", ["", "Hi", "Re: hello", "(no subject)", "RE: Question", "help!", "???"])
def test_generic_subjects(subject):
    assert is_generic_subject(normalize_subject(subject))


@pytest.mark.parametrize("subject", ["Printer jammed", "Hello from Berlin office: VPN down"])
def test_specific_subjects_are_not_generic(subject):
    assert not is_generic_subject(normalize_subject(subject))


def test_find_case_tags_in_order_without_repeats():
    assert find_case_tags("Re: [#1042] VPN [#7] and again [#1042] [# 0099]") == ("1042", "7", "99")
    assert find_case_tags("[1042] [#abc] #1042 [dev]") == ()
    assert find_case_tags(None) == ()


def test_tag_subject_adds_tag_once():
    assert tag_subject("VPN drops", "1042") == "[#1042] VPN drops"
    assert tag_subject("Re: [#1042] VPN drops", "1042") == "Re: [#1042] VPN drops"
    assert tag_subject("[#7] other case", "1042") == "[#1042] [#7] other case"
    assert tag_subject("", "5") == "[#5]"
    assert find_case_tags(tag_subject("anything", "31")) == ("31",)


@pytest.mark.parametrize(
    "subject",
    [
        "Hello\r\nBcc: victim@example.com",
        "Hello\nBcc: victim@example.com",
        "Hello\rBcc: victim@example.com",
        "Hello\x00\x1b[31m\x85Bcc:\u2028victim@example.com\u2029",
    ],
)
def test_tag_subject_is_header_safe(subject):
    tagged = tag_subject(subject, "12")
    assert tagged.startswith("[#12] Hello")
    assert not any(ord(ch) < 32 or ch in "\x7f\x85\u2028\u2029" for ch in tagged)
    assert "Bcc:" in tagged  # kept as text on the same line, not a new header


@pytest.mark.parametrize("ref", ["", "12a", "-1", "1\n2", "1" * 19])
def test_tag_subject_rejects_bad_refs(ref):
    with pytest.raises(ValueError):
        tag_subject("x", ref)
