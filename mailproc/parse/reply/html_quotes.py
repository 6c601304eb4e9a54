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


def marked_text(html: str) -> str:
    """Text of `html` with "\\x00name\\x00" lines where a client's quote container starts."""
    return render(html, marker=_marker)
