"""Render an HTML reply to marked text: quote containers of mail clients become boundary lines."""

from __future__ import annotations

import colorsys
import re

from mailproc.parse.html_text import render

_BORDER_TOP = re.compile(r"border-top(?:-style)?\s*:[^;]*solid", re.IGNORECASE)
# Class names and ids clients put on the element that starts the quoted history.
_QUOTE_CLASSES = frozenset(
    {
        "gmail_quote", "gmail_quote_container", "yahoo_quoted", "moz-cite-prefix", "aolmsgpart",
        "aolreplyheader", "protonmail_quote", "zmail_extra", "zm_quote", "x_gmail_quote",
        "ecxgmail_quote", "mailru_quote", "yandex_quote", "outlook_quote", "x_divrplyfwdmsg",
        "quote_container",
    }
)
_QUOTE_IDS = frozenset(
    {"divrplyfwdmsg", "olk_src_body_section", "yahoo_quoted", "appendonsend", "x_divrplyfwdmsg",
     "mail-editor-reference-message-container", "reference", "x_appendonsend", "divrplyfwdmsg_x"}
)

# The element a client puts the person's signature in, as set in its settings: Gmail's,
# Thunderbird's, Outlook's and Apple Mail's.
_SIGNATURE_CLASSES = frozenset({"gmail_signature", "moz-signature"})
_SIGNATURE_IDS = frozenset({"signature", "applemailsignature"})

# Ids with a per-message suffix: "yahoo_quoted_1234", "AOLMsgPart_2_abcd".
_QUOTE_ID_PREFIXES = ("yahoo_quoted", "aolmsgpart", "divrplyfwdmsg", "x_divrplyfwdmsg", "ymail_android_signature_quoted")


def _marker(tag: str, attrs: dict[str, str]) -> str | None:
    classes = {c.lower() for c in attrs.get("class", "").split()}
    ident = attrs.get("id", "").lower()
    if tag == "hr":
        return "stop" if ident == "stopspelling" or attrs.get("data-marker") == "__DIVIDER__" else None
    if tag == "blockquote":
        # Gmail marks inline-reply quotes with this class; only other blockquotes may be cut without
        # an attribution above them. A client's quote says so (type="cite", cite="mid:…"); other
        # blockquotes may be an editor's indent.
        if "gmail_quote" in classes:
            return None
        return "cite" if attrs.get("type", "").lower() == "cite" or "cite" in attrs else "indent"
    if tag == "div" and classes & _QUOTE_CLASSES:
        return "quote"
    if classes & {"yahoo_quoted", "moz-cite-prefix", "aolmsgpart"}:
        return "quote"
    if ident in _QUOTE_IDS or ident.startswith(_QUOTE_ID_PREFIXES):
        return "quote"
    if tag in ("div", "p") and _BORDER_TOP.search(attrs.get("style", "")):
        return "rule"
    if tag in ("div", "pre") and (classes & _SIGNATURE_CLASSES or ident in _SIGNATURE_IDS):
        return "signature"
    return None


_COLOUR = re.compile(r"(?<![-\w])(?:color|background(?:-color)?)\s*:\s*([^;]+)", re.IGNORECASE)
_HEX = re.compile(r"#([0-9a-f]{3}|[0-9a-f]{6})\b", re.IGNORECASE)
_RGB = re.compile(r"rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)", re.IGNORECASE)
_NAMED = {"red": (255, 0, 0), "blue": (0, 0, 255), "green": (0, 128, 0), "orange": (255, 165, 0),
          "purple": (128, 0, 128), "magenta": (255, 0, 255), "fuchsia": (255, 0, 255),
          "yellow": (255, 255, 0), "lime": (0, 255, 0), "aqua": (0, 255, 255),
          "cyan": (0, 255, 255), "crimson": (220, 20, 60), "darkred": (139, 0, 0)}
# The colour a note names ("my answers are in blue"), by hue in degrees.
_HUES = {"red": 0, "rot": 0, "rouge": 0, "rojo": 0, "rosso": 0, "rood": 0, "orange": 30,
         "yellow": 60, "gelb": 60, "jaune": 60, "amarillo": 60, "giallo": 60, "geel": 60,
         "green": 120, "grün": 120, "vert": 120, "verde": 120, "groen": 120,
         "blue": 220, "blau": 220, "bleu": 220, "azul": 220, "blu": 220, "blauw": 220,
         "purple": 280}


def _rgb(value: str) -> tuple[int, int, int] | None:
    value = value.strip().lower()
    if (name := value.split(" ", 1)[0]) in _NAMED:
        return _NAMED[name]
    if m := _HEX.search(value):
        h = m.group(1)
        h = "".join(c * 2 for c in h) if len(h) == 3 else h
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    if m := _RGB.search(value):
        return int(m.group(1)), int(m.group(2)), int(m.group(3))
    return None


def _hue(rgb: tuple[int, int, int]) -> float:
    return colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[0] * 360


def _vivid(rgb: tuple[int, int, int] | None, hue: float | None) -> bool:
    """A colour a person picks to set their words apart (bright and saturated: not black, grey,
    white, nor the dark blues of Outlook's text and of signatures), of the hue their note
    names when it names one."""
    if rgb is None or max(rgb) < 170 or max(rgb) - min(rgb) < 120:
        return False
    return hue is None or min(off := abs(_hue(rgb) - hue), 360 - off) <= 45


def answer_style(note: str):
    """The test for words set apart inside a quote in the colour (or highlight) `note` names,
    any vivid one when it names none. Not bold: quoted mail has bold headings and names."""
    named = next((h for word, h in _HUES.items() if re.search(rf"\b{word}\b", note, re.I)), None)

    def test(tag: str, attrs: dict[str, str]) -> bool:
        if tag == "a":
            return False                # a link's colour is the link's
        if tag == "font" and _vivid(_rgb(attrs.get("color", "")), named):
            return True
        return any(_vivid(_rgb(value), named) for value in _COLOUR.findall(attrs.get("style", "")))
    return test


def marked_text(html: str, answers=None) -> str:
    """Text of `html` with "\\x00name\\x00" lines where a client's quote container starts; with
    `answers` (answer_style), the words it accepts inside a quote are not quoted (a reply that
    says its answers are in the quoted mail, in blue)."""
    return render(html, marker=_marker, unquote=answers, ends=("signature",))
