"""Render an HTML reply to marked text: quote containers of mail clients become boundary lines."""

from __future__ import annotations

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
    return None


_COLOUR = re.compile(r"(?<![-\w])(?:color|background(?:-color)?)\s*:\s*([^;]+)", re.IGNORECASE)
_HEX = re.compile(r"#([0-9a-f]{3}|[0-9a-f]{6})\b", re.IGNORECASE)
_RGB = re.compile(r"rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)", re.IGNORECASE)
_NAMED = frozenset({"red", "blue", "green", "orange", "purple", "magenta", "fuchsia", "darkred",
                    "darkblue", "darkgreen", "navy", "maroon", "teal", "olive", "crimson",
                    "yellow", "lime", "aqua", "cyan", "royalblue", "dodgerblue", "firebrick"})


_OUTLOOKS = frozenset({"1f497d", "44546a", "1f3864"})     # Outlook's own text colours


def _colourful(value: str) -> bool:
    """A colour a person picks to set their words apart: not black, grey or white, nor the
    dark blue Outlook writes its text and signatures in."""
    value = value.strip().lower()
    if value.split(" ", 1)[0] in _NAMED:
        return True
    if m := _HEX.search(value):
        h = m.group(1)
        h = "".join(c * 2 for c in h) if len(h) == 3 else h
        if h in _OUTLOOKS:
            return False
        rgb = [int(h[i:i + 2], 16) for i in (0, 2, 4)]
    elif m := _RGB.search(value):
        rgb = [int(g) for g in m.groups()]
    else:
        return False
    return max(rgb) - min(rgb) >= 80


def _answer_style(tag: str, attrs: dict[str, str]) -> bool:
    """Words set apart inside a quote: a colour, a highlight, bold."""
    if tag in ("b", "strong", "mark"):
        return True
    if tag == "font" and _colourful(attrs.get("color", "")):
        return True
    return any(_colourful(value) for value in _COLOUR.findall(attrs.get("style", "")))


def marked_text(html: str, answers: bool = False) -> str:
    """Text of `html` with "\\x00name\\x00" lines where a client's quote container starts; with
    `answers`, words set apart in a colour, a highlight or bold inside a quote are not quoted
    (a reply that says its answers are in the quoted mail, in blue)."""
    return render(html, marker=_marker, unquote=_answer_style if answers else None)
