"""A customer's HTML mail made inert: nh3 (ammonia) keeps text and layout, drops scripts,
event handlers, forms, frames and styles; remote images stay blocked unless asked for."""

from __future__ import annotations

import nh3
from markupsafe import Markup

TAGS = frozenset({"a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup",
                  "dd", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
                  "i", "img", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike",
                  "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
                  "u", "ul"})
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height", "title"},
              "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align"},
              "*": {"dir", "lang"}}
# The page that shows images widens img-src to https for that answer only.
IMAGES_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
              "img-src 'self' data: https:; object-src 'none'; base-uri 'none'; "
              "form-action 'self'; frame-ancestors 'none'")


def sanitize(html: str, *, images: bool = False) -> Markup:
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            # Blocked by default: a remote image tells the sender when and where it was read.
            return value if images and value.lower().startswith("https://") else None
        return value

    return Markup(nh3.clean(html, tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                            url_schemes={"http", "https", "mailto"}, strip_comments=True,
                            link_rel="noopener noreferrer nofollow", attribute_filter=keep))


def remote_images(html: str) -> int:
    """How many images the mail would fetch from elsewhere (shown beside "show images")."""
    lowered = html.lower()
    return lowered.count("src=\"http") + lowered.count("src='http") + lowered.count("src=http")
