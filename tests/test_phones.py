"""Phone numbers from signatures, normalised to E.164."""

from mailproc.people.phones import extract_phones, merge_phones, normalize_phone


def test_signature_numbers_in_many_forms():
    sig = ("Alice Martin | Account Manager\nPhone: +49 30 5550 1234\nMobile 0171 5550987\n"
           "US office: +1 (415) 555-0132\nOrder 2026-4711, ticket 12345")
    assert extract_phones(sig) == ["+493055501234", "+491715550987", "+14155550132"]


def test_no_false_numbers_from_dates_or_ids():
    assert extract_phones("Invoice 2026-4711 from 23.11.2026, case #1042, 12:30") == []
    assert extract_phones("") == []


def test_normalize_and_merge():
    assert normalize_phone("030 5550 1234") == "+493055501234"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("12") is None
    assert merge_phones(["+493055501234"], ["+491715550987", "+493055501234"]) == [
        "+491715550987", "+493055501234"]
