"""Warnings a mail system writes above the person's words: external-sender banners (set aside
with the quoted part, like a mailing list's footer)."""

from __future__ import annotations

import re

# "CAUTION: This email originated from outside of the organization. Do not click links ...",
# "[EXTERNAL EMAIL] Please report any suspicious attachments ...", "ACHTUNG: Diese E-Mail stammt
# von einem externen Absender ...", Outlook's "You don't often get email from ... Learn why this
# is important". A gateway's label ("[EXTERNAL]", "Warning:", "Achtung:") and two of its phrases.
_WORD_LABEL = re.compile(
    r"^\W{0,3}(?:caution|warning|attention|achtung|vorsicht|warnung|avertissement|precaución|atención"
    r"|attenzione|let\s+op|waarschuwing|uwaga|varning|advarsel)\b\W", re.IGNORECASE)
_GATEWAY_LABEL = re.compile(
    r"^[^\w\[]{0,3}(?:\[\s*(?i:external|extern|externe|externo|esterno)\b[^\]]{0,30}\]"
    r"|(?:EXTERNAL|EXTERN|EXTERNE)(?:\s+(?:EMAIL|E-MAIL|MAIL|SENDER|MESSAGE))?\s*:)")
_PHRASE = re.compile(
    r"originated\s+(?:from\s+)?outside|outside\s+(?:of\s+)?(?:the|your|this|our)\s+(?:organi[sz]ation|company|network)"
    r"|external\s+sender|do\s+not\s+click\s+(?:on\s+)?(?:any\s+)?links|unless\s+you\s+recogni[sz]e"
    r"|suspicious\s+(?:attachments|links)|know\s+the\s+content\s+is\s+safe|please\s+report\s+any\s+suspicious"
    r"|requests\s+for\s+sensitive\s+information|externen?\s+absender|außerhalb\s+(?:der|ihrer|unserer)\s+organisation"
    r"|nicht\s+auf\s+links|keine\s+anhänge|expéditeur\s+externe|l'extérieur\s+de\s+(?:l'organisation|votre)"
    r"|remitente\s+externo|fuera\s+de\s+(?:la|su)\s+organización|mittente\s+esterno|externe\s+afzender"
    r"|buiten\s+(?:de|uw)\s+organisatie",
    re.IGNORECASE)
# A gateway speaks of the mail it marks; a person warning of another mail does not.
_THIS_MAIL = re.compile(r"\bthis\s+(?:e-?mail|message)|diese\s+(?:e-?mail|nachricht)|ce\s+(?:courriel|message|mail)"
                        r"|este\s+(?:correo|mensaje)|questa\s+e-?mail|deze\s+e-?mail", re.IGNORECASE)
_FIRST_CONTACT = re.compile(
    r"^\s*(?:you\s+don'?t\s+often\s+get\s+email\s+from|sie\s+erhalten\s+nicht\s+oft\s+e-mails?\s+von"
    r"|vous\s+ne\s+recevez\s+pas\s+souvent\s+de\s+courriers)\b\S*\s+\S+@\S+?[.\s]+"
    r"(?:learn\s+why\s+this\s+is\s+important|erfahren\s+sie,\s+warum\s+dies\s+wichtig\s+ist"
    r"|découvrez\s+pourquoi)", re.IGNORECASE)
_QUOTED_WORDS = re.compile(r"[\"“«„][^\"“”«»„]{3,60}[\"”»“]|(?<!\w)'[^'\n]{3,60}'(?!\w)")
_MAX_LINES = 6
# Proofpoint's banner between its own markers, blank lines and all.
_PROOFPOINT = ("ZjQcmQRYFpfptBannerStart", "ZjQcmQRYFpfptBannerEnd")


def leading_banner(lines: list[str]) -> int:
    """How many lines at the top (the warning and the blank lines under it) are a mail system's
    warning; 0 when the first paragraph is the person's."""
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start < len(lines) and lines[start].strip() == _PROOFPOINT[0]:
        end = next((i + 1 for i in range(start, min(len(lines), start + 30))
                    if lines[i].strip() == _PROOFPOINT[1]), start)
        return end if end > start else 0
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    if end - start > _MAX_LINES or end >= len(lines) or not any(line.strip() for line in lines[end:]) \
            or not _is_banner(" ".join(line.strip() for line in lines[start:end])):
        return 0
    while end < len(lines) and not lines[end].strip():
        end += 1
    return end


def _is_banner(paragraph: str) -> bool:
    if not paragraph or _QUOTED_WORDS.search(paragraph) and not _FIRST_CONTACT.match(paragraph):
        return False    # "users see 'external sender' and 'do not click links'": a person describing it
    phrases = {m.group().lower() for m in _PHRASE.finditer(paragraph)}
    return bool(_FIRST_CONTACT.match(paragraph)
                or _GATEWAY_LABEL.match(paragraph) and len(phrases) >= 2
                and (paragraph.lstrip()[:1] == "[" or _THIS_MAIL.search(paragraph))
                or _WORD_LABEL.match(paragraph) and len(phrases) >= 2 and _THIS_MAIL.search(paragraph))
