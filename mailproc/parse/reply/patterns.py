"""Multilingual patterns for reply extraction: quote headers, header blocks, forwards, mobile lines."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Thunderbird's verbs in be, br, cy, eu, fy, ga, gd, gl, hsb, nn, rm, sq: everyday words of
# their languages, so a line with one is an attribution only with an address in it and a ">"
# quote under it (text.is_attribution).
ADDRESSED = (r"напісаў|напісала|skrivet\s+eo\s+bet\s+gant|ysgrifennodd|idatzi\s+zuen|skreau|scríobh"
             r"|sgrìobh|escribiu|napisa|skreiv|ha\s+scrit|scrit|shkroi")
ADDRESSED_VERB = re.compile(ADDRESSED, re.IGNORECASE)
# Verbs that end an attribution line ("On ... wrote:"), in the languages mail clients ship.
WROTE = (
    r"wrote|writes|pisze|schreibt|escribe|scrive|schrieb|geschrieben|a\s+écrit|a\s+ecrit|écrit|escribió|escribio|ha\s+scritto|scrisse"
    r"|schreef|het\s+volgende\s+geschreven|escreveu|napisał\(a\)|napisał|napisała|napisal|skrev|skriver"
    r"|kirjoitti|написал\(а\)|написала|написал|пишет|написав|写道|寫道|書きました|書き込みました|のメッセージ"
    r"|đã\s+viết|napsal\(a\)|napsal|napsala|yazdı|írta|έγραψε|a\s+scris|je\s+napisal|rašė|kirjutas"
    # sk napísal(a) (Gmail, Thunderbird), uk пише/написав, bg написа, ru The Bat! "Вы писали",
    # id menulis, hr/sr napisao je, lv rakstīja, ca va escriure and ha escrit (Thunderbird: at the
    # line's end), is skrifaði, he/ar Thunderbird
    r"|napísal\(a\)|napísal|napísala|пише|написав|написала|написа|писал\(а\)|писали|писала|писал"
    r"|menulis|je\s+napisao|je\s+napisala|napisao\s+je|napisala\s+je|написао|rakstīja|va\s+escriure"
    r"|ha\s+escrit(?=\s*:\s*$)|skrifaði|כתב|כתבה|كتب"
    r"|napisana\s+przez"    # pl Apple Mail: "Wiadomość napisana przez X w dniu …, o godz. …:"
    r"|napisal\(a\)|je\s+napisal\(a\)"
    r"|%s"
) % ADDRESSED

# ja Apple Mail "…のメール:", ko Thunderbird "… 쓴 글:", th Gmail "… เขียนว่า:"
WROTE_CJK = r"写道|寫道|写于|書きました|書き込みました|のメッセージ|のメール|작성|쓴\s?글|เขียนว่า"


def by_first_letter(alternatives: str) -> str:
    """`alternatives` ("a|b(?:c|d)|…", each opening with a letter) grouped by their first
    letter behind a look-ahead for those letters: the same matches, in the same order, but the
    engine reads each position's letter once instead of trying every alternative at it."""
    groups: dict[str, list[str]] = {}
    for alternative in re.split(r"\|(?![^()]*\))", alternatives):    # not inside a group
        assert alternative[0].isalpha(), alternative
        groups.setdefault(alternative[0].lower(), []).append(alternative[1:])
    return "(?=[%s])(?:%s)" % ("".join(map(re.escape, groups)), "|".join(
        re.escape(first) + "(?:%s)" % "|".join(rests) for first, rests in groups.items()))


# The attribution verb, word-bounded for alphabetic scripts; CJK verbs need no boundary.
VERB = re.compile(r"(?:\b%s(?![\w(])(?:\(a\))?|(?:%s))" % (by_first_letter(WROTE), WROTE_CJK),
                  re.IGNORECASE)
# Words that open an attribution line in each language.
ATTRIBUTION_START = re.compile(
    r"^[\s*_-]*(?:On|Am|Le|El|Il|In\s+data|Op|Em|W\s+dniu|Dnia|Den|På|Vào|Dne|Dňa|La|Pe|В|Kun|Il\s+giorno"
    r"|În|Pada|Στις|На|Dana|في|בתאריך)\b",
    re.IGNORECASE,
)
DATE_HINT = re.compile(
    r"\d{1,4}[-/.年]\s?\d{1,2}|\d{1,2}:\d{2}|\b(?:19|20)\d{2}\b|\d{1,2}\.?\s+\w{3,}\.?\s+\d{2,4}",
)
# Only from the start of a token: a long token without "@" is read once, not once per character.
EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# "2017-11-24 16:32 GMT+01:00 Name <a@b>:" and "2011/4/7 Name <a@b>" (Gmail's short attribution).
DATE_ADDRESS_HEADER = re.compile(
    r"^\s*(?:\w{2,4}[,.]?\s+)?(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|\d{1,2}\s+\w{3,9}\.?\s+\d{4}|\d{4}年\d{1,2}月\d{1,2}日)"
    r".{0,120}?<?[\w.+'-]+@[\w-]+(?:\.[\w-]+)+>?\)?\s*[:：]?\s*$"
)
# Russian mail.ru: "Thu, 26 Jun 2014 14:00:51 +0400 от Alexander L <abc@example.com>:"
FROM_WORD_HEADER = re.compile(
    r"^.{0,80}\d{1,2}:\d{2}.{0,40}\s(?:от\s.{1,80}|(?:from|de|von|od)\s.{0,60}<[^<>@\s]+@[^<>\s]+>)[:：]\s*$",
    re.IGNORECASE,
)
# Any short line that ends in "Name <address>:" and carries a year or a time is an attribution.
ADDRESS_COLON_END = re.compile(r"<[^<>\s]+@[^<>\s]+>\)?\s*[:：]\s*$")
YEAR_OR_TIME = re.compile(r"\b(?:19|20)\d{2}\b|\d{1,2}[:.]\d{2}\b|\d{4}年")
# "From: Name <address>" alone is how some clients head a quote.
FROM_WITH_ADDRESS = re.compile(
    r"^\s*[*_]?(?:from|von|de|van|da|od|fra|från)[*_]?\s*[:：]\s*.{0,80}[<\[](?:mailto:)?[^<>\[\]\s]+@[^<>\[\]\s]+[>\]]",
    re.IGNORECASE,
)
# Help desks' line over their notification: "##- Please type your reply above this line -##"
# (Zendesk, localised), "Reply above this line." (Jira), "-- Reply ABOVE THIS LINE --".
REPLY_ABOVE = re.compile(
    r"^\W*(?:(?:please\s+)?(?:type|write|enter|add)\s+your\s+(?:reply|response|answer|comment)s?\s+above\s+this\s+line"
    r"|(?:please\s+)?(?:reply|respond|write)\s+above\s+this\s+line"
    r"|(?:bitte\s+)?(?:geben\s+sie\s+ihre\s+antwort|antworten\s+sie|schreiben\s+sie\s+ihre\s+antwort)"
    r"\s+(?:über|oberhalb)\s+dieser\s+zeile(?:\s+ein)?"
    r"|(?:veuillez\s+)?(?:saisir|taper|écrire)\s+votre\s+réponse\s+au-dessus\s+de\s+cette\s+ligne"
    r"|(?:por\s+favor,?\s+)?escriba\s+su\s+respuesta\s+(?:por\s+)?encima\s+de\s+esta\s+línea"
    r"|typ\s+uw\s+antwoord\s+boven\s+deze\s+(?:lijn|regel)"
    r"|(?:veuillez\s+)?répond(?:ez|re)\s+au-dessus\s+de\s+cette\s+ligne"
    r"|(?:bitte\s+)?(?:über|oberhalb)\s+dieser\s+zeile\s+antworten"
    r"|(?:please\s+)?do\s+not\s+(?:write|reply|type)\s+below\s+this\s+line)\b[\s.!:#*=_~-]*$",
    re.IGNORECASE)
# The person says they answered inside the history: "see my answers below in blue", "answers
# inline in CAPS", "Antworten im Text", "réponses ci-dessous", "respuestas abajo en rojo".
INLINE_NOTE = re.compile(
    r"\b(?:(?:my\s+)?(?:answers?|responses?|replies|comments?)\s+(?:are\s+)?(?:inline|in-line)\b"
    r"|(?:see|find|read)\s+my\s+(?:answers?|responses?|replies|comments?)\s+(?:below|inline|in\s+(?:blue|red|green|bold|caps))"
    r"|(?:my\s+|(?m:^)\W*)(?:answers?|responses?|comments?)\s+(?:are\s+)?(?:below\s+)?in\s+(?:blue|red|green|bold"
    r"|caps|capitals|capital\s+letters|upper\s*case)\b"
    r"|(?:meine|siehe\s+meine)\s+(?:antworten|anmerkungen|kommentare)"
    r"\s+(?:unten|im\s+text|inline|in\s+(?:blau|rot|grün))"
    r"|mes\s+(?:réponses?|commentaires)\s+(?:ci-dessous|dans\s+le\s+(?:texte|corps)|en\s+(?:bleu|rouge|vert))"
    r"|mis\s+(?:respuestas?|comentarios)\s+(?:abajo|debajo|en\s+(?:azul|rojo|verde|el\s+texto))"
    r"|le\s+mie\s+(?:risposte|commenti)\s+(?:sotto|di\s+seguito|in\s+(?:blu|rosso))"
    r"|mijn\s+(?:antwoorden|opmerkingen)\s+(?:hieronder|in\s+de\s+tekst|in\s+het\s+(?:blauw|rood)))\b",
    re.IGNORECASE)
# Horde and IMP: "Quoting Name <address>:", "Zitat von Name <address>:", "Citation de Name <address> :".
QUOTING = re.compile(r"^\s*(?:quoting|zitat\s+von|citation\s+de|cita\s+de|citando|citaat\s+van|cytuję|cytat\s+od)"
                     r"\s+[^:<>]{1,80}?<[^<>\s]+@[^<>\s]+>\s*[:：]\s*$", re.IGNORECASE)
# Zoho: "---- On Mon, 02 Mar 2026 10:15:22 +0100 Acme <a@b> wrote ----", "---- Am Mo, ... schrieb Acme <a@b> ---"
DASHED_HEADER = re.compile(r"^\s*-{3,}\s*(?:On|Am|Le|El|Il|Op|Em|Den|På)\s.{0,200}?\d{1,2}:\d{2}.{0,200}?"
                           r"<[^<>\s]+@[^<>\s]+>.{0,200}?\b(?:%s)\b.{0,40}?-{3,}\s*$"
                           r"|^\s*-{3,}\s*(?:On|Am|Le|El|Il|Op|Em|Den|På)\s.{0,200}?\d{1,2}:\d{2}.{0,200}?\b(?:%s)\b"
                           r".{0,200}?<[^<>\s]+@[^<>\s]+>.{0,40}?-{3,}\s*$" % (WROTE, WROTE), re.IGNORECASE)
# "---- John Smith wrote ----" (Android), "------On 12/29/1987 ..., Julius Caesar wrote-----"
DASHED_WROTE = re.compile(r"^\s*-{2,}.{1,200}?\b(?:%s)\s*:?\s*-{2,}\s*$" % WROTE, re.IGNORECASE)
# An attribution that shares its line with the reply: "reply--- On Wed, Apr 4, 2012 ..., bob wrote:".
# (A "--" before it goes with it: text.split_inline_attribution; the search reads the line's end.)
INLINE_ATTRIBUTION = re.compile(
    r"\b(?:On|Am|Le|El|Il|Op|Em|W\s+dniu|Den)\s+[^\n]{0,40}?\d[^\n]{0,200}?\b(?:%s)\s*[:：]\s*$"
    % WROTE
)

# "-----Original Message-----" and friends.
ORIGINAL_MESSAGE = re.compile(
    r"^\s*[-=_*~]{2,}\s*(?:Original\s+Message|Reply\s+Message|Original|Oprindelig\s+besked|Ursprüngliche\s+Nachricht"
    r"|Original-?nachricht|Antwort\s+Nachricht|Oprindelig\s+meddelelse|Message\s+d'origine|Message\s+original"
    r"|Mensaje\s+original|Messaggio\s+originale|Oorspronkelijk\s+bericht|Origineel\s+bericht"
    r"|Mensagem\s+original|Wiadomość\s+oryginalna|Oryginalna\s+wiadomość|Ursprungligt\s+meddelande"
    r"|Opprinnelig\s+melding|Alkuperäinen\s+viesti|Исходное\s+сообщение|Пересланное\s+сообщение"
    r"|Původní\s+zpráva|Orijinal\s+Mesaj|Eredeti\s+üzenet|原始邮件|原始郵件|邮件原件|郵件原件|元のメッセージ"
    r"|Pôvodná\s+správa|Originalna\s+poruka|Оригинално\s+съобщение|Оригінальне\s+повідомлення"
    r"|Вихідне\s+повідомлення|Αρχικό\s+μήνυμα|Mesaj\s+original|Mesajul\s+original|Pesan\s+Asli|Thư\s+gốc"
    r"|원본\s+메시지|ההודעה\s+המקורית|الرسالة\s+الأصلية|Originalmeddelande|Originalni\s+poruka"
    r"|Mail\s+original|Ursprüngliche\s+Mail|Original\s+Mail"  # Zimbra
    r"|원본\s+메일"  # Daum, Hanmail
    r"|Original\s+Meddelelse|Özgün\s+İleti|原始信息)"   # Thunderbird da, tr, zh-CN
    r"(?:\s*/\s*Orig\.\s?Msg\.?)?"      # Thunderbird fi: "Alkuperäinen viesti / Orig.Msg."
    # alone on its line, or with the header run on after it ("--------Von: … Datum: …")
    r"\s*[-=_*~]{2,}(?:\s*$|\s*(?=[^\W\d_]{2,12}\s?:))",
    re.IGNORECASE,
)
FORWARD_MARKER = re.compile(
    r"^\s*(?:[-=_*~>]{2,}\s*)?(?:Forwarded\s+message|Forwarded\s+Message|Begin\s+forwarded\s+message"
    r"|Weitergeleitete\s+Nachricht|Message\s+transféré|Début\s+du\s+message\s+réexpédié"
    r"|Mensaje\s+reenviado|Messaggio\s+inoltrato|Doorgestuurd\s+bericht|Begin\s+doorgestuurd\s+bericht"
    r"|Mensagem\s+encaminhada|Início\s+da\s+mensagem\s+reencaminhada|Wiadomość\s+przekazana"
    r"|Przekazana\s+wiadomość|Vidarebefordrat\s+meddelande|Videresendt\s+meddelelse"
    r"|Videresendt\s+melding|Välitetty\s+viesti|Edelleenlähetetty\s+viesti|Пересылаемое\s+сообщение"
    r"|Переслано|転送されたメッセージ|転送メッセージ|转发的邮件|轉寄的郵件|已转发邮件|Přeposlaná\s+zpráva"
    # Gmail, Thunderbird and Apple Mail in more languages
    r"|Wiadomość\s+przekazana\s+dalej|Yönlendirilmiş\s+ileti|İletilen\s+ileti|Továbbított\s+üzenet"
    r"|Továbbított\s+levél|Mesaj\s+redirecționat|Mesaj\s+redirectionat|Mesaj\s+transmis"
    r"|Προωθημένο\s+μήνυμα|Пересланий\s+лист|Переслане\s+повідомлення|Перенаправленное\s+сообщение"
    r"|Препратено\s+съобщение|Preposlaná\s+správa|Proslijeđena\s+poruka|Prosleđena\s+poruka"
    r"|Posredovano\s+sporočilo|전달된\s+메시지|전달된\s+메일|הודעה\s+שהועברה|الرسالة\s+المُعاد\s+توجيهها"
    r"|الرسالة\s+المعاد\s+توجيهها|Tin\s+nhắn\s+đã\s+chuyển\s+tiếp|Thư\s+đã\s+chuyển\s+tiếp|Pesan\s+terusan"
    r"|Pesan\s+yang\s+diteruskan|Videresendt\s+besked|Videresendt\s+e-mail|Anfang\s+der\s+weitergeleiteten"
    r"\s+(?:Nachricht|E-Mail)|Inicio\s+del\s+mensaje\s+reenviado|Inizio\s+messaggio\s+inoltrato"
    r"|Början\s+av\s+vidarebefordrat\s+meddelande|Mensaxe\s+reenviada|Missatge\s+reenviat"
    r"|Treść\s+przekazanej\s+wiadomości|İletilmiş\s+İleti|转发的消息)"      # Thunderbird pl, tr, zh-CN
    r"(?:\s*/\s*Fwd\.\s?Msg\.?)?"      # Thunderbird fi: "Välitetty viesti / Fwd.Msg"
    r"\s*:?\s*(?:[-=_*~]{2,})?\s*$",
    re.IGNORECASE,
)

# Outlook-style header fields, by role, in many languages (lower-case; "*From:*" and "**From:**" bold are allowed).
HEADER_FIELDS = {
    "from": "from|von|de|od|van|fra|från|da|lähettäjä|от|kimden|feladó|remetente|desde|mittente"
            "|afzender|nadawca|avsändare|frá|saatja|발신|보낸 사람|보낸사람|từ|发件人|寄件者|差出人|送信者|expéditeur|de la|από"
            "|від|מאת|من|dari|šalje|nuo",
    "sent": "sent|date|gesendet|datum|envoyé|envoyé le|date d'envoi|enviado|enviado el|enviada em"
            "|data|inviato|verzonden|verstuurd|sendt|skickat|wysłano|wysłane|lähetetty|päivämäärä"
            "|отправлено|дата|发送时间|日期|時間|寄件日期|送信日時|日付|gönderildi|tarih|message du|odesláno|ngày gửi"
            "|sent date|elküldve|dátum|trimis|data trimiterii|στάλθηκε|ημερομηνία|надіслано|보낸 날짜"
            "|נשלח|تم الإرسال|đã gửi|dikirim|tanggal|odoslané|poslano|poslato|изпратено|išsiųsta"
            "|enviat",
    "to": "to|an|à|a|para|do|aan|til|till|vastaanottaja|кому|收件人|宛先|受信者|kime|címzett|komu"
          "|destinataire|per|đến|către|pentru|προς|до|받는 사람|받는사람|אל|إلى|kepada|prima|za|kam|per a",
    "cc": "cc|kopie|copie à|copie|kopia|копия|抄送|副本|kopio|kópia|bcc|másolat|копія|참조|עותק|نسخة"
          "|tembusan",
    "subject": "subject|betreff|objet|sujet|asunto|assunto|oggetto|onderwerp|temat|emne|ämne|aihe|тема"
               "|主题|主旨|件名|konu|tárgy|předmět|tiêu đề|titel|subiect|θέμα|제목|נושא|الموضوع|chủ đề|subjek"
               "|predmet|относно|zadeva|assumpte",
}
# Outlook's labels in lv, et, th, ms, hi, fa, sr (Cyrillic), is, eu and cy: common words in their
# languages ("Nork:" who, "به:" to), so only a whole header with a time counts (text.header_block).
MORE_HEADER_FIELDS = {
    "from": "daripada|จาก|प्रेषक|از|од|nork|oddi wrth",
    "sent": "nosūtīts|datums|saadetud|kuupäev|dihantar|tarikh|ส่ง|วันที่|भेजा गया|ارسال شده|ارسال|послато"
            "|датум|dagsetning|noiz|anfonwyd",
    "to": "adressaat|kellele|ถึง|प्रति|به|за|nori",
    "cc": "koopia|sk|สำเนาถึง|копија|afrit",
    "subject": "tēma|teema|เรื่อง|विषय|موضوع|efni|gaia|pwnc",
}
FIELD_LINE = re.compile(
    r"^\s*[*_]{0,2}\s*(%s)\s*[*_]{0,2}\s*[:：]" % "|".join(
        "(?P<%s>%s)" % (role, names) for role, names in HEADER_FIELDS.items()
    ),
    re.IGNORECASE,
)


def is_field(line: str) -> str | None:
    """The role (from, sent, to, cc, subject) of a header field line, or None."""
    m = FIELD_LINE.match(line)
    if not m:
        return None
    for role in HEADER_FIELDS:
        if m.group(role):
            return role
    return None


MORE_FIELD_LINE = re.compile(
    r"^\s*[*_]{0,2}\s*(%s)\s*[*_]{0,2}\s*[:：]" % "|".join(
        "(?P<%s>%s|%s)" % (role, HEADER_FIELDS[role], names) for role, names in MORE_HEADER_FIELDS.items()
    ),
    re.IGNORECASE,
)

RULE_LINE = re.compile(r"^\s*(?:[-_=*~—–─━═]\s*){4,}\s*$")     # box drawing too: ja, zh
QUOTE_PREFIX = re.compile(r"^\s*(?:>|\|(?=\s|$))")
# GroupWise's quote header, the old mail under it unquoted: ">>> Name <address> 03/04/2025
# 10:12 AM >>>", ">>> "Becker, Tom" <a@b> 04.03.2025 10:12 >>>", ">>> Robert Huber 03.03.2025 16:40 >>>".
GROUPWISE_HEADER = re.compile(r"^\s*>>>\s*\S.{0,150}?\s\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\s+\d{1,2}:\d{2}"
                              r"(?::\d{2})?(?:\s*[ap]\.?m\.?)?\s*>>>\s*$", re.IGNORECASE)
MOBILE_DEVICES = (
    r"iphone|ipad|ipod|android|blackberry|samsung|galaxy|mobile|handy|móvil|movil|celular|telemóvel"
    r"|telefon|phone|smartphone|tablet|huawei|xiaomi|pixel|nokia|htc|sony|motorola|oneplus|windows\s+phone"
    r"|apple\s+watch|ios|outlook|mail|gmail|yahoo|aol|proton\s*mail|spark|bluemail|typeapp|airmail|newton"
    r"|nine|mymail|sparrow|mailbird|canary|acompli|postbox|thunderbird|samsung\s+email|mail\.ru|yandex|gmx|web\.de|t-online|zoho|superhuman|hey|edison|k-9|fairemail"
    r"|samsung\s+mobile|moto|lg|redmi|oppo|vivo|realme|honor|surface|kindle|watch|téléphone|mobil"
    r"|telefone|cellulare|teléfono|telefoon|matkapuhelin|puhelin|телефон|смартфон|ipadista|iphonesta"
)
MOBILE_LINE = re.compile(
    r"^\s*(?:"
    r"(?:sent|sent\s+via|sent\s+with|get|sent\s+using|envoyé|envoyé\s+à\s+partir|envoyé\s+depuis"
    r"|envoyé\s+avec|gesendet|von|enviado|enviada|inviato|verzonden|verstuurd|skickat|sendt|wysłane"
    r"|lähetetty|отправлено|odesláno|gönderildi|trimis|poslano|скачайте)"
    r"(?:\s+\w+){0,3}?\s+"
    r"(?:from|de|von|via|with|using|for|desde|do|da|dal|vanaf|vanuit|van|från|fra|z|ze|с|из|met|mit|com|con"
    r"|avec|depuis|für|pour|para|per|med|på|for)\s+"
    r"(?:my|mon|ma|meinem|meiner|mi|meu|minha|mio|mijn|min|mitt|mojego|mojej|моего|мой|moje)?\s*"
    r"(?:[\w.\-]+\s+){0,2}?(?:%s)\b[^\n]{0,40}"
    r"|(?:von|vom)\s+mein(?:em|er)(?:/mein(?:em|er))?\s+(?:\S+\s+){0,2}(?:%s)\S*\s+gesendet[^\n]{0,10}"
    r"|von\s+yahoo\s+mail\s+(?:auf|für)\s+\S+\s+gesendet"
    r"|(?:sent\s+with|gesendet\s+mit\s+der\s+sicheren\s+e-mail\s+von|envoyé\s+avec\s+la\s+messagerie\s+sécurisée)"
    r"\s+proton\s*mail(?:\s+secure\s+email)?\s*\.?"
    r"|(?:(?:samsung|galaxy|huawei|xiaomi|redmi|oppo|apple|[a-z]?\d{1,3}\+?|ultra)\s+){0,3}(?:akıllı\s+)?"
    r"(?:iphone|ipad|android|samsung|galaxy|mobil|telefon|cep\s+telefon)\S{0,6}'?"
    r"(?:[uü]mdan|[ıi]mdan|[dt][ae]n)\s+gönderildi[.!]?"
    r"|odesláno\s+z\s+(?:iphonu|ipadu|androidu|mobilu|telefonu|(?:mého|mojí)\s+(?:iphonu|ipadu|androidu|mobilu"
    r"|telefonu|samsungu))"
    r"|envoyé\s+sans\s+fil\s+par\s+mon\s+(?:\S+\s+){0,2}?(?:%s)\b[^\n]{0,60}"   # Bell's BlackBerry
    r"|az\s+(?:%s)\S{0,8}\s+küldve|[أا]ُ?رسلت\s+من\s+(?:\S+\s+)?(?:%s)\b[^\n]{0,20}"   # hu, ar
    r"|(?:download|obtenir|télécharger|obtener|descargar|scarica|baixe\s+o|baixar\s+o)\s+outlook"
    r"\s+(?:for|pour|para|per)\s+(?:ios|android)"
    r"|(?:hämta|hent)\s+outlook\s+(?:för|for|til)\s+(?:ios|android)"
    r"|pobierz\s+(?:aplikację\s+)?outlook\s+dla\s+(?:systemu\s+)?(?:ios|android)"
    r"|στάλθηκε\s+από\s+(?:το|τη|την)\s+(?:[\w.\-]+\s+){0,2}?(?:%s|κινητό|τηλέφωνο|tablet)\S*\s+μου\.?"
    r"|(?:(?:내|나의)\s+)?(?:iphone|ipad|galaxy|android|갤럭시|아이폰|아이패드)[^\s에]{0,12}에서\s+보냄"
    # Windows' Mail app in its own words: "Envoyé à partir de Courrier pour Windows 10"
    r"|(?:envoyé\s+à\s+partir\s+de\s+courrier\s+pour|enviado\s+desde\s+correo\s+para"
    r"|inviato\s+da\s+posta\s+per)\s+windows(?:\s+1[01])?"
    r"|outlook\s+(?:für|voor)\s+(?:ios|android)\s*(?:<[^<>\s]+>)?\s*(?:beziehen|herunterladen|downloaden|holen)"
    r"|get\s+outlook\s+for\s+(?:ios|android)\s*<[^<>\s]+>|outlook\s+for\s+(?:ios|android)\s*を入手"
    r"|(?:lähetetty|skickat|sendt)\s+\S+(?:sta|stä|från|fra)\b[^\n]{0,20}"
    r"|\S{1,20}から送信[^\n]{0,10}|发自我的\S{1,20}|從我的\s?\S{1,20}\s?傳送|来自\S{1,20}"
    # eu, sr (Cyrillic), is, ur
    r"|nire\s+(?:%s)\S{0,4}tik\s+bidalia|послато\s+са\s+мог\s+(?:%s)\S{0,6}"
    r"|sent\s+úr\s+(?:%s)\S{0,16}(?:\s+mín(?:um|ni|u))?|میرے\s+(?:%s)\s+سے\s+بھیجا\s+گیا"
    r")\s*$" % ((MOBILE_DEVICES,) * 10),
    re.IGNORECASE,
)
MOBILE_FALSE = re.compile(r"[,;]\s+\w+\s+\w+|\bis\b|\bare\b|\bwas\b", re.IGNORECASE)
# Carriers' lines, commas and all: "Sent from my Verizon, Samsung Galaxy smartphone",
# "Sent via the Samsung Galaxy S23 Ultra 5G, an AT&T 5G smartphone".
MOBILE_CARRIER = re.compile(r"^\s*sent\s+(?:from|via)\s+(?:my|the)\s+(?:verizon|sprint|t-mobile|at&t|samsung|galaxy)"
                            r"\b[^\n]{0,60}\b(?:smartphone|phone|device|tablet)\.?\s*$", re.IGNORECASE)


# The link Microsoft's clients write into their own line: "Sent from Mail<https://go.microsoft.
# com/fwlink/…> for Windows 10", "Obtenir Outlook pour Android<https://aka.ms/…>". Only theirs,
# and only with a few words after it: "Get Outlook for Android<https://aka.ms/…> and sign in
# with your work account" is the person's, and "Get the app for Android<https://play.google…>".
# Microsoft's, Yahoo's, Spark's, Proton's and Edison's clients link their own line ("Sent from Yahoo
# Mail on Android (https://mail.onelink.me/…)", "Sent from Edison Mail ( https://go.edison.tech/… ) on
# Android", "Sent with Proton Mail (https://proton.me/…) secure email.").
_CLIENT_LINK = (r"https?://(?:aka\.ms|go\.microsoft\.com|go\.onelink\.me|overview\.mail\.yahoo\.com"
                r"|mail\.onelink\.me|sparkmailapp\.com|proton\.me|go\.edison\.tech)/")
_LINK = re.compile(rf"(?:<{_CLIENT_LINK}[^<>\s]*>| \( ?{_CLIENT_LINK}[^()\s]*\ ?\))(?=[\w ]{{0,16}}\.?$)",
                   re.IGNORECASE)     # "<…>" in text, " (…)" as HTML mail's text writes it
# "Sent from my phone, excuse typos", "…, please excuse brevity": the line's own apology.
_EXCUSE = re.compile(r"[,;.]?\s*(?:please\s+)?(?:excuse|pardon|forgive)\s+(?:any\s+|the\s+|my\s+)?"
                     r"(?:typos?|brevity|errors?|mistakes?|spelling)[.!]?\s*$", re.IGNORECASE)
_EXCUSE_WORD = re.compile(r"(?=[epf])(?:excuse|pardon|forgive)", re.IGNORECASE)   # ahead of _EXCUSE


@lru_cache(maxsize=1024)    # the signature and reply rules ask of the same lines again
def is_mobile_line(line: str) -> bool:
    """A client's or a device's own line under the words ("Sent from my iPhone")."""
    if "Ã" in line or "Â" in line:
        line = _unmangled(line)
    if "://" in line:
        line = _LINK.sub(" ", line)
    if _EXCUSE_WORD.search(line):    # _EXCUSE tries every position of the line: 4x slower
        line = _EXCUSE.sub("", line)
    return bool(MOBILE_LINE.match(line) and not MOBILE_FALSE.search(line)
                or MOBILE_CARRIER.match(line) and not _CLAUSE.search(line))


def _unmangled(line: str) -> str:
    """UTF-8 read as Latin-1 somewhere on the way, undone ("mÃ³vil BlackBerryÂ®": "móvil
    BlackBerry®"); the line as it is when it is not that."""
    try:
        return line.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return line


def lower_words(line: str) -> int:
    """How many of the line's words start in lower case (a sentence's, not a name's or a title's)."""
    return sum(w[:1].islower() for w in line.split())


def capitalised(line: str) -> bool:
    """Every word of the line that starts with a letter starts with a capital: a name's."""
    return all(w[:1].isupper() or not w[:1].isalpha() for w in line.split())


def prose(line: str) -> bool:
    """Four words or more in lower case: a sentence's words ("if there are more than"). A title
    may read so too ("Chargée de clientèle pour les grands comptes"), but not two lines of it."""
    return lower_words(line) >= 4


def line_above(lines: list[str], i: int) -> str:
    """The nearest line with words above line i, stripped ("" at the top)."""
    return next((line.strip() for line in reversed(lines[:i]) if line.strip()), "")


def line_below(lines: list[str], i: int) -> str:
    """The nearest line with words below line i, stripped ("" at the bottom)."""
    return next((line.strip() for line in lines[i + 1:] if line.strip()), "")


def announced(lines: list[str], i: int) -> bool:
    """The nearest line with words above line i ends in a colon: what follows is what it
    announces ("send it to:", "the form says:"), the person's own, not a quote or a signature."""
    return line_above(lines, i).endswith((":", "："))


def leads_into(lines: list[str], i: int) -> bool:
    """The nearest line with words above line i announces it: a colon, or a sentence that has
    not ended on a word that points at what follows ("…starts with a line like this", "It
    now reads"); line i is what it tells of. ("close the ticket thanks" over a help desk's
    marker is a reply without punctuation.)"""
    above = line_above(lines, i)
    return above.endswith((":", "：")) or prose(above) and _POINTS_AT.search(above) is not None


_POINTS_AT = re.compile(r"\b(?:this|these|the\s+following|reads|says|shows|phrase|sentence|text|line"
                        r"|to|with|as|like|folgt|folgende[nr]?|lautet|so|zeile|oben|mit|wie|suivante?"
                        r"|ceci|phrase|texte|ligne|en\s+tête|avec|comme|siguiente|esto|frase|línea"
                        r"|con|como|volgende|regel|tekst|met)\s*$", re.IGNORECASE)


def continues_above(above: str, line: str) -> bool:
    """`line` is announced by the line above ("it says:") or goes on with its sentence in lower
    case: quoted or written by the person, not a device's own line."""
    above = above.rstrip()
    return above.endswith((":", "：")) or bool(
        above.strip() and line.strip()[:1].islower() and not above.endswith((".", "!", "?")))


def device_line_at(lines: list[str], i: int) -> bool:
    """Line i is a client's or a device's own line, not one the person writes or quotes."""
    line = lines[i].strip()
    return is_mobile_line(line) and not continues_above(lines[i - 1] if i else "", line) \
        and not _in_sentence(lines, i)


def _in_sentence(lines: list[str], i: int) -> bool:
    """A device's line the person's sentence goes on after: announced ("ends with this
    line:\n\nSent from my iPhone\n\nbut I send…"), inside it ("the phrase\nSent from my
    iPhone\nfrom my mails") or set apart in it ("their messages end with\n\nSent from my
    iPhone\n\nand your parser…")."""
    below = line_below(lines, i)
    if not below[:1].islower():
        return False
    if leads_into(lines, i) and _GOES_ON.match(below):
        return True
    # Inside it: no blank line on either side, and the line above ends no sentence.
    return announced(lines, i) or 0 < i < len(lines) - 1 and lines[i - 1].strip() != "" \
        and lines[i + 1].strip() != "" and not lines[i - 1].rstrip().endswith((".", "!", "?", ";"))


# Words that go on with a sentence after what it told of: "…end with\n\nSent from my iPhone\n\nand
# your parser…" ("please excuse typos" under a device's line is the device line's own).
_GOES_ON = re.compile(r"(?:and|but|or|so|which|that|because|und|aber|oder|et|mais|ou|y|pero|e|ma|en|maar)\b")
_CLAUSE = re.compile(r"\b(?:is|are|was|were|than|then)\b", re.IGNORECASE)   # "Sent from my desk, is ..."

# Letters people type without their accents when their keyboard or client lacks them: an
# umlaut as its "e" spelling too ("Gruesse"), ß as "ss".
_TYPED_AS = {"ä": ("a", "ae"), "ö": ("o", "oe"), "ü": ("u", "ue"), "ß": ("ss",), "ł": ("l",),
             "ø": ("o",), "đ": ("d",), "ı": ("i",), "ș": ("s",), "ț": ("t",)}


def _typed_as(letter: str) -> tuple[str, ...]:
    """How `letter` (Latin with an accent: Western and Central European) is typed without it."""
    if letter in _TYPED_AS:
        return _TYPED_AS[letter]
    if "\u00e0" <= letter <= "\u017f":
        base = "".join(c for c in unicodedata.normalize("NFKD", letter) if c.isascii())
        return (base,) if base else ()
    return ()


def ascii_spellings(pattern: str) -> str:
    """`pattern` whose accented Latin letters also match as typed without the accent
    ("Mit freundlichen Gruessen", "Udvozlettel", "Dziekuje"); other scripts are left alone."""
    out, in_class, escaped = [], False, False
    for c in pattern:
        spellings = () if escaped else _typed_as(c)
        if spellings and in_class:
            out.append(c + "".join(s for s in spellings if len(s) == 1))
        elif spellings:
            out.append("(?:%s)" % "|".join((c, *spellings)))
        else:
            out.append(c)
            if c in "[]" and not escaped:
                in_class = c == "["
        escaped = c == "\\" and not escaped
    return "".join(out)


SIGN_OFF = re.compile(ascii_spellings(
    r"^\s*(?:"
    r"(?:with\s+)?(?:best|kind|kindest|warm|warmest|many|all\s+the|sincere|my)?\s*"
    r"(?:thanks\s+in\s+advance|thanks\s+again|thanks\s+a\s+lot|thank\s+you\s+very\s+much|many\s+thanks"
    r"|regards|wishes|greetings|thanks|thank\s+you|thx|cheers|rgds|br|brgds|yours(?:\s+\w+)?|sincerely"
    r"|best|cordially|respectfully|love|ciao|bye|later|take\s+care|talk\s+soon|tia|peace|xoxo)"
    r"|have\s+a\s+(?:nice|great|good|lovely)\s+(?:day|weekend|week|evening)"
    r"|(?:mit\s+)?(?:freundlichen|besten|herzlichen|lieben|liebe|viele|schöne|sonnige)\s+grüßen?"
    r"|(?:mit\s+)?(?:freundlichen|besten|herzlichen|lieben|viele)\s+grüssen?|mfg|lg|vg|grüße|gruß|gruss"
    r"|viele\s+grüße|beste\s+grü(?:ß|ss)e|grüessli|danke?\s+(?:und|&)\s+gr(?:uß|uss|üße|üsse)|danke(?:\s+schön)?|vielen\s+dank|herzliche\s+grüße|servus|tschüss"
    r"|(?:mit\s+)?freundliche[mn]?\s+gr(?:uß|uss)|freundliche\s+grü(?:ß|ss)e|besten\s+dank"
    r"|cordialement|bien\s+(?:à\s+vous|cordialement)|salutations|meilleures\s+salutations|(?:bonne|belle)\s+journée"
    r"|merci(?:\s+beaucoup)?|amicalement|bises|[àa]\s+bientôt|sincères\s+salutations"
    r"|(?:reciba\s+)?un\s+(?:cordial\s+)?saludo\s+cordial|(?:reciba\s+)?un\s+cordial\s+saludo|cordiales\s+saludos"
    r"|(?:un\s+)?saludos?(?:\s+cordiales)?|atentamente|atte|un\s+abrazo|besos|gracias|muchas\s+gracias|cordialmente"
    r"|un\s+cordiale\s+saluto|saluti\s+cordiali|salutations\s+distinguées|bien\s+à\s+toi"
    r"|cordiali\s+saluti|distinti\s+saluti|saluti|grazie(?:\s+mille)?|un\s+saluto|buona\s+giornata"
    r"|met\s+vriendelijke\s+groet(?:en)?|vriendelijke\s+groet(?:en)?|groet(?:en|jes)?|mvg|bedankt|dank\s+je"
    r"|(?:met\s+)?hartelijke\s+groet(?:en)?"
    r"|atenciosamente|abraços?|obrigad[oa]|(?:com\s+os\s+)?melhores\s+cumprimentos|cumprimentos|att|grato"
    r"|pozdrawiam(?:\s+serdecznie)?|z\s+powa[żz]aniem|(?:serdeczne\s+)?pozdrowienia|łączę\s+pozdrowienia"
    r"|dziękuję|dzięki|serdecznie(?:\s+pozdrawiam)?|z\s+wyrazami\s+szacunku"
    r"|(?:med\s+)?vänlig(?:a|en)?\s+hälsning(?:ar)?|(?:bästa|varma)\s+hälsningar|hälsningar|mvh|hälsning|tack"
    r"|(?:med\s+)?venn?lig(?:e|st)?\s+hilsen?|(?:de\s+)?bedste\s+hilsner|(?:mange\s+)?hilsen|vh|kh|tak|takk"
    r"|ystävällisin\s+terveisin|terveisin|kiitos|parhain\s+terveisin"
    r"|с\s+уважением|спасибо|всего\s+доброго|с\s+наилучшими\s+пожеланиями|благодарю"
    r"|よろしくお願いします|よろしくお願いいたします|宜しくお願いします|以上、?よろしくお願いいたします"
    r"|此致|谢谢|謝謝|祝好|此致敬礼"
    r"|s\s+pozdravem|saygılarımla|üdvözlettel|trân\s+trọng"
    r"|s\s+přátelským\s+pozdravem|s\s+pozdravom|s\s+úctou|děkuji|ďakujem|tisztelettel|köszönöm|[üu]dv"
    r"|cu\s+stimă|cu\s+drag|cu\s+respect|toate\s+cele\s+bune|mulțumesc|iyi\s+çalışmalar|saygılar|selamlar|teşekkürler"
    r"|με\s+εκτίμηση|με\s+φιλικούς\s+χαιρετισμούς|ευχαριστώ|φιλικά|з\s+повагою|дякую|з\s+найкращими\s+побажаннями"
    r"|ystävällisesti"
    r"|(?:srdačan\s+|lep\s+|lijep\s+)?pozdrav|срдачан\s+поздрав|срдачно|lp|ar\s+cieņu|pagarbiai|lugupidamisega|parimate\s+soovidega"
    r"|hormat\s+saya|salam|terima\s+kasih|cảm\s+ơn|감사합니다|고맙습니다|בברכה|תודה|مع\s+تحياتي|مع\s+(?:خالص\s+)?التحية|مع\s+(?:أطيب\s+)?التحيات|شكرا"
    r")(?![\w])"),
    re.IGNORECASE,
)
SIG_DELIMITER = re.compile(r"^(?:--|-- |---|—+|–+|__|___)\s*$")
# After a sign-off phrase: nothing, punctuation or an emoji, or a short capitalised name.
SIGN_OFF_REST = re.compile(
    r"^[\s,.!:;。！、…\-–—]*"
    # "Beste Grüße aus Hamburg", "Greetings from Berlin", "Saludos desde Madrid"
    r"(?:(?:aus|from|de|desde|da|dal|uit|vanuit|från|fra|z|ze|из|з)\s+[A-ZÀ-ÝĀ-ſА-Я][\w.'’-]*\s*[,.!]?\s*)?"
    r"(?:[A-ZÀ-ÝĀ-ſА-Я][\w.'’-]*(?:\s+[A-ZÀ-ÝĀ-ſА-Я][\w.'’-]*){0,2})?[\s,.!。！]*"
    r"(?:[^\w\s]{1,4})?\s*$"
)
DASH_NAME = re.compile(r"^\s*(?:(?:--?|[–—~])\s*[A-ZÀ-Ý][\w.'-]*(?:\s+[A-ZÀ-Ý][\w.'-]*){0,3}"
                       r"|/[A-ZÀ-Ý][\w.'-]*(?:\s+[A-ZÀ-Ý][\w.'-]*)?"     # "/Johan", "/K" (Swedish)
                       r"|[-–—~]\s?[a-zà-ý][\w'-]{1,20})\s*$")   # "-roman", "- roman": one word, last
PHONE = re.compile(r"(?:\+|\b00)?\d[\d\s().\-/]{6,}\d")
URL = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|org|net|de|fr|io|co|uk|nl|se|dk|no|fi|pl|ru|it|es)\b")
CONTACT_LABEL = re.compile(
    r"^\s*(?:tel|phone|mobile|mob|cell|fax|direct|office|m|t|f|p|e|w|email|e-mail|web|website|skype"
    r"|tél|portable|handy|telefon|tlf|puh|тел|電話|手机)\.?\s*[:.](?=\s|\+|\d|\(|$)", re.IGNORECASE)
