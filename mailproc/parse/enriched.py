"""text/enriched (RFC 1896) and its predecessor text/richtext (RFC 1341) as plain text: the
body of a mail whose client wrote only that (Eudora, old Mac mailers), not an attachment."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"<<|<(/?)([A-Za-z0-9-]{1,60})>|\r?\n|[^<\r\n]+|<")


def enriched_to_text(body: str, richtext: bool = False) -> str:
    """The words of `body` without its formatting commands. text/enriched: "<<" is "<", a
    line break is a space and n breaks in a row are n - 1 (inside <nofill> each counts), and
    <param> holds a command's argument, not words. text/richtext: line breaks are spaces,
    <nl> and <np> break lines, <lt> is "<"."""
    out: list[str] = []
    breaks, nofill, param = 0, 0, 0
    for m in _TOKEN.finditer(body):
        token, closing, name = m.group(), m.group(1), (m.group(2) or "").lower()
        if token in ("\n", "\r\n"):
            breaks += 1
            continue
        if breaks:
            out.append(" " if richtext or (breaks == 1 and not nofill) else
                       "\n" * (breaks if nofill else breaks - 1))
            breaks = 0
        if name:
            step = -1 if closing else 1
            if name == "param":
                param = max(0, param + step)
            elif name == "nofill":
                nofill = max(0, nofill + step)
            elif richtext and not closing and name in ("nl", "np", "lt"):
                out.append({"nl": "\n", "np": "\n\n", "lt": "<"}[name])
        elif not param:
            out.append("<" if token == "<<" and not richtext else token)
    return "".join(out).strip()
