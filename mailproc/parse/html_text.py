"""Readable plain text from an HTML mail body, with the standard library's html.parser."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser

log = logging.getLogger(__name__)

# Elements whose start and end break the line: block-level layout in mail bodies.
BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "details", "dialog", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
        "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
        "table", "tbody", "thead", "tfoot", "tr", "ul", "body", "html",
    }
)
# Paragraph-like elements get a blank line around them, as mail clients render them.
PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"})
SKIP_TAGS = frozenset({"style", "script", "head", "title", "noscript", "template", "xml"})
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)

_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING = re.compile(r"[ \t]+\n")
_SOFT_BREAKS = re.compile(r"[ \t]*[\x02\x03][\x02\x03 \t]*")


PRE_FENCE = "\x00pre\x00"     # marked text's line where a <pre> starts and ends


class _TextBuilder(HTMLParser):
    """Collects text runs and line breaks; `marker` hooks let callers tag elements (quote detection)."""

    def __init__(self, marker=None, unquote=None, ends=()) -> None:
        super().__init__(convert_charrefs=True)
        self.unquote = unquote      # (tag, attrs) -> True: the element's text is not quoted
        self.unquoted_depth = 0     # inside such an element: its children follow it
        self.out: list[str] = []
        self.skip_depth = 0
        self.pres: list[bool] = []   # per open <pre>: marked with PRE_FENCE
        self.quote_depth = 0
        self.lists: list[list[int]] = []  # [ordered?, counter]
        self.links: list[tuple[str, int]] = []
        self.marker = marker
        self.ends = frozenset(ends)     # marks whose element's end is marked too ("<name>_end")
        self.stack: list[tuple[str, bool, bool, str]] = []  # (tag, counted quote, unquoted, end mark)

    # -- output helpers -------------------------------------------------
    def _newline(self, blank: bool = False) -> None:
        # Soft breaks: a run of them collapses to one line break, or one blank line.
        self.out.append("\x03" if blank else "\x02")

    def _emit_text(self, text: str) -> None:
        self.out.append(text)

    # -- parser callbacks -----------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        if tag in SKIP_TAGS:
            if tag not in VOID_TAGS:
                self.skip_depth += 1
            return
        if self.skip_depth:
            return
        attr = {k.lower(): (v or "") for k, v in attrs}
        mark = self.marker(tag, attr) if self.marker is not None else None
        if mark:
            self.out.append("\n\x00%s\x00\n" % mark)
        if tag == "br":
            self.out.append("\n")
            return
        if tag == "hr":
            self.out.append("\n\x00hr\x00\n" if self.marker is not None else "\n")
            return
        if tag in VOID_TAGS:
            # Webmail draws emoji as images whose alt is the emoji; longer alts are logo captions.
            alt = attr.get("alt", "").strip()
            if tag == "img" and alt and len(alt) <= 3:
                self.out.append(alt)
            return
        is_quote = tag == "blockquote"
        if is_quote:
            self.quote_depth += 1
            self.out.append("\n\x01%d\x01" % self.quote_depth)
        if tag in BLOCK_TAGS:
            self._newline(tag in PARAGRAPH_TAGS)
        if tag == "pre":
            # A log or code: the reader's ``` fence; not Thunderbird's signature in <pre>.
            fenced = self.marker is not None and "signature" not in attr.get("class", "").lower()
            self.pres.append(fenced)
            if fenced:
                self.out.append("\n%s\n" % PRE_FENCE)
        elif tag in ("ul", "ol"):
            self.lists.append([tag == "ol", 0])
        elif tag == "li":
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self.out.append("%d. " % self.lists[-1][1])
            else:
                self.out.append("- ")
        elif tag == "a":
            self.links.append((attr.get("href", ""), len(self.out)))
        elif tag in ("td", "th"):
            self.out.append(" ")
        unquoted = bool(self.unquote and self.quote_depth and not is_quote
                        and not self.unquoted_depth and self.unquote(tag, attr))
        if unquoted:
            self.unquoted_depth += 1
            self.out.append("\n\x010\x01")   # its own line, without "> "
        self.stack.append((tag, is_quote, unquoted, mark + "_end" if mark in self.ends else ""))

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if tag in SKIP_TAGS:
            if self.skip_depth:
                self.skip_depth -= 1
            return
        if self.skip_depth or tag in VOID_TAGS:
            return
        # Tolerate unclosed tags: pop up to the matching start tag.
        if not any(entry[0] == tag for entry in self.stack):
            return
        while self.stack:
            t, is_quote, unquoted, end = self.stack.pop()
            self._close(t, is_quote, unquoted, end)
            if t == tag:
                break

    def _close(self, tag: str, is_quote: bool, unquoted: bool = False, end: str = "") -> None:
        if tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.out[start:]).strip()
            target = href[7:] if href.lower().startswith("mailto:") else href
            if target and not target.startswith("#") and label and target.strip() != label:
                if not target.lower().startswith(("javascript:", "cid:")):
                    self.out.append(" (%s)" % target.strip())
        if tag == "pre" and self.pres and self.pres.pop():
            self.out.append("\n%s\n" % PRE_FENCE)
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        if tag in BLOCK_TAGS:
            self._newline(tag in PARAGRAPH_TAGS)
        if is_quote:
            self.quote_depth -= 1
            self.out.append("\n\x01%d\x01" % self.quote_depth)
        if unquoted:
            self.unquoted_depth -= 1
            self.out.append("\n\x01%d\x01" % self.quote_depth)
        if end:
            self.out.append("\n\x00%s\x00\n" % end)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pres:
            self.out.append(data)
        else:
            self.out.append(_SPACES.sub(" ", data))

    def close_all(self) -> None:
        while self.stack:
            self._close(*self.stack.pop())


def _layout(raw: str, keep_marks: bool) -> str:
    """Turn the builder's stream into lines: quote depth becomes "> " prefixes."""
    raw = _SOFT_BREAKS.sub(lambda m: "\n\n" if "\x03" in m.group() else "\n", raw)
    lines: list[tuple[int, str]] = []
    depth = 0
    fresh = True
    for chunk in re.split(r"(\x01\d+\x01)", raw):
        if chunk.startswith("\x01") and chunk.endswith("\x01") and len(chunk) > 2:
            depth = int(chunk[1:-1])
            fresh = True
            continue
        parts = chunk.split("\n")
        for i, part in enumerate(parts):
            if i > 0 or fresh or not lines:
                fresh = False
                lines.append((depth, part))
            else:
                d, prev = lines[-1]
                lines[-1] = (d, prev + part)
    rendered: list[str] = []
    for depth, line in lines:
        line = line.strip(" ")
        if not keep_marks and "\x00" in line:
            line = re.sub(r"\x00[^\x00]*\x00", "", line).strip()
        if depth and line:
            line = "> " * depth + line
        rendered.append(line)
    text = "\n".join(rendered)
    text = _TRAILING.sub("\n", text)
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip("\n")


def render(html: str, marker=None, unquote=None, ends=()) -> str:
    """Render HTML to text; `marker(tag, attrs)` may return a name that is emitted as a marker
    line (and, for names in `ends`, "<name>_end" where the element ends); inside a quote, the
    text of an element `unquote(tag, attrs)` accepts is not quoted."""
    builder = _TextBuilder(marker, unquote, ends)
    try:
        builder.feed(html)
        builder.close()
    except Exception:  # html.parser is lenient; this only guards against pathological input
        log.warning("html parser failed; falling back to tag stripping", exc_info=True)
        return _BLANK_RUNS.sub("\n\n", re.sub(r"<[^>]+>", " ", html)).strip()
    builder.close_all()
    return _layout("".join(builder.out), keep_marks=marker is not None)


def html_to_text(html: str) -> str:
    """Readable text from HTML: blocks on their own lines, lists as "- ", links as "text (url)"."""
    return render(html)
