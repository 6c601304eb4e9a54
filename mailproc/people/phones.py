"""Phone numbers from signatures and contact records, normalised to E.164."""

from __future__ import annotations

import phonenumbers

# Numbers in a signature are written for people of the sender's country; without a
# leading + we need a guess, and the support desk's own region is the best one.
DEFAULT_REGION = "DE"


def extract_phones(text: str, region: str = DEFAULT_REGION, limit: int = 5) -> list[str]:
    """Valid phone numbers found in `text`, E.164, in order of appearance, without repeats."""
    found: list[str] = []
    if not text:
        return found
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in found:
            found.append(e164)
        if len(found) >= limit:
            break
    return found


def normalize_phone(value: str, region: str = DEFAULT_REGION) -> str | None:
    """One number typed by a person (config, contact record) as E.164, or None if invalid."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def merge_phones(known: list[str], new: list[str], limit: int = 5) -> list[str]:
    """Contact phones: newest signature numbers first, nothing twice, bounded."""
    merged = list(dict.fromkeys([*new, *known]))
    return merged[:limit]
