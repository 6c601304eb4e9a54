"""Writes cases.jsonl: hand-written reply-extraction cases for languages, clients and traps the corpus lacks."""
from pathlib import Path
import json
R = "Could you check the invoice for March? The total looks wrong to me.\nWe were charged twice for the same licence."
Q = "Hello,\n\nthank you for contacting support. Your case number is 4711.\n\nBest regards\nSupport"
def qq(t): return "\n".join("> " + l if l else ">" for l in t.split("\n"))
cases = []
def add(id, input, expected=None, fmt="text", lang="en", client=None, signature="removed", checks=None, sender=None, expected_signature=None, note=None):
    c = {"id": id, "source": "mailproc: tests/data/replies (hand-written)", "format": fmt, "task": "reply",
         "lang": lang, "client": client, "input": input, "expected": expected, "compare": "ws",
         "signature": signature, "split": "own"}
    if checks: c["checks"] = checks
    if sender: c["sender"] = sender
    if expected_signature is not None: c["expected_signature"] = expected_signature
    if note: c["note"] = note
    cases.append(c)

# --- quote headers per language
heads = {
 "es": "El lun, 24 nov 2025 a las 10:02, Soporte <support@example.com> escribió:",
 "es-2": "El 24/11/2025 a las 10:02, Soporte escribió:",
 "it": "Il giorno lun 24 nov 2025 alle ore 10:02 Supporto <support@example.com> ha scritto:",
 "it-2": "Il 24/11/2025 10:02, Supporto ha scritto:",
 "pt": "Em seg., 24 de nov. de 2025 às 10:02, Suporte <support@example.com> escreveu:",
 "pt-2": "Em 24/11/2025 10:02, Suporte escreveu:",
 "nl": "Op ma 24 nov 2025 om 10:02 schreef Support <support@example.com>:",
 "nl-2": "Op 24 nov. 2025, om 10:02 heeft Support <support@example.com> het volgende geschreven:",
 "no": "man. 24. nov. 2025 kl. 10:02 skrev Support <support@example.com>:",
 "no-2": "Den 24. nov. 2025 kl. 10:02 skrev Support <support@example.com>:",
 "fi": "ma 24. marrask. 2025 klo 10.02 Support (support@example.com) kirjoitti:",
 "fi-2": "Support <support@example.com> kirjoitti 24.11.2025 kello 10.02:",
 "ru": "пн, 24 нояб. 2025 г. в 10:02, Support <support@example.com>:",
 "ru-2": "24.11.2025 10:02, Support пишет:",
 "ru-3": "Понедельник, 24 ноября 2025, 10:02 +03:00 от Support <support@example.com>:",
 "ru-4": "24 ноября 2025 г., в 10:02, Support <support@example.com> написал(а):",
 "ja": "2025年11月24日(月) 10:02 Support <support@example.com>:",
 "ja-2": "2025/11/24 10:02、Support <support@example.com>のメッセージ:",
 "zh": "在 2025年11月24日 10:02，Support <support@example.com> 写道：",
 "zh-2": "Support <support@example.com> 於 2025年11月24日 週一 上午10:02 寫道：",
 "de": "Am Mo., 24. Nov. 2025 um 10:02 Uhr schrieb Support <support@example.com>:",
 "de-2": "Am 24.11.2025 um 10:02 schrieb Support:",
 "fr": "Le lun. 24 nov. 2025 à 10:02, Support <support@example.com> a écrit :",
 "pl": "W dniu 24.11.2025 o 10:02, Support pisze:",
 "pl-2": "pon., 24 lis 2025 o 10:02 Support <support@example.com> napisał(a):",
 "sv": "Den 24 nov. 2025 kl. 10:02 skrev Support <support@example.com>:",
 "da": "Den man. 24. nov. 2025 kl. 10.02 skrev Support <support@example.com>:",
 "en-apple": "On 24 Nov 2025, at 10:02, Support <support@example.com> wrote:",
 "en-gmail-wrapped": "On Mon, Nov 24, 2025 at 10:02 AM Support Team of Example Incorporated <\nsupport@example.com> wrote:",
 "en-addr-own-line": "On Mon, Nov 24, 2025 at 10:02 AM Support Team\n<support@example.com> wrote:",
 "en-iso": "2025-11-24 10:02 GMT+01:00 Support <support@example.com>:",
 "cs": "po 24. 11. 2025 v 10:02 odesílatel Support <support@example.com> napsal:",
 "tr": "24 Kas 2025 Pzt, 10:02 tarihinde Support <support@example.com> şunu yazdı:",
}
for key, h in heads.items():
    lang = key.split("-")[0]
    add("hdr-%s" % key, R + "\n\n" + h + "\n\n" + qq(Q) + "\n", R, lang=lang)
    add("hdr-%s-unquoted" % key, R + "\n\n" + h + "\n\n" + Q + "\n", R, lang=lang,
        note="quoted history without > markers (Outlook-style plain body)")

# --- Outlook header blocks per language
blocks = {
 "en": ("From: Support <support@example.com>\nSent: Monday, November 24, 2025 10:02 AM\nTo: Jane Doe <jane@example.org>\nSubject: RE: Invoice", "en"),
 "de": ("Von: Support <support@example.com>\nGesendet: Montag, 24. November 2025 10:02\nAn: Jane Doe <jane@example.org>\nBetreff: AW: Rechnung", "de"),
 "fr": ("De : Support <support@example.com>\nEnvoyé : lundi 24 novembre 2025 10:02\nÀ : Jane Doe <jane@example.org>\nObjet : RE: Facture", "fr"),
 "es": ("De: Support <support@example.com>\nEnviado: lunes, 24 de noviembre de 2025 10:02\nPara: Jane Doe <jane@example.org>\nAsunto: RE: Factura", "es"),
 "it": ("Da: Support <support@example.com>\nInviato: lunedì 24 novembre 2025 10:02\nA: Jane Doe <jane@example.org>\nOggetto: R: Fattura", "it"),
 "nl": ("Van: Support <support@example.com>\nVerzonden: maandag 24 november 2025 10:02\nAan: Jane Doe <jane@example.org>\nOnderwerp: RE: Factuur", "nl"),
 "pt": ("De: Support <support@example.com>\nEnviado: segunda-feira, 24 de novembro de 2025 10:02\nPara: Jane Doe <jane@example.org>\nAssunto: RE: Fatura", "pt"),
 "pl": ("Od: Support <support@example.com>\nWysłano: poniedziałek, 24 listopada 2025 10:02\nDo: Jane Doe <jane@example.org>\nTemat: RE: Faktura", "pl"),
 "sv": ("Från: Support <support@example.com>\nSkickat: den 24 november 2025 10:02\nTill: Jane Doe <jane@example.org>\nÄmne: SV: Faktura", "sv"),
 "da": ("Fra: Support <support@example.com>\nSendt: 24. november 2025 10:02\nTil: Jane Doe <jane@example.org>\nEmne: SV: Faktura", "da"),
 "no": ("Fra: Support <support@example.com>\nSendt: mandag 24. november 2025 10:02\nTil: Jane Doe <jane@example.org>\nEmne: SV: Faktura", "no"),
 "fi": ("Lähettäjä: Support <support@example.com>\nLähetetty: maanantai 24. marraskuuta 2025 10.02\nVastaanottaja: Jane Doe <jane@example.org>\nAihe: VS: Lasku", "fi"),
 "ru": ("От: Support <support@example.com>\nОтправлено: 24 ноября 2025 г. 10:02\nКому: Jane Doe <jane@example.org>\nТема: RE: Счёт", "ru"),
 "ja": ("差出人: Support <support@example.com>\n送信日時: 2025年11月24日 10:02\n宛先: Jane Doe <jane@example.org>\n件名: RE: 請求書", "ja"),
 "zh": ("发件人: Support <support@example.com>\n发送时间: 2025年11月24日 10:02\n收件人: Jane Doe <jane@example.org>\n主题: 回复: 发票", "zh"),
 "zh-tw": ("寄件者: Support <support@example.com>\n寄件日期: 2025年11月24日 上午 10:02\n收件者: Jane Doe <jane@example.org>\n主旨: 回覆: 發票", "zh"),
}
for key, (b, lang) in blocks.items():
    add("outlook-%s" % key, R + "\n\n" + "_" * 32 + "\n" + b + "\n\n" + Q + "\n", R, lang=lang, client="outlook")
    add("outlook-%s-norule" % key, R + "\n\n" + b + "\n\n" + Q + "\n", R, lang=lang, client="outlook")
add("outlook-bold-star", R + "\n\n*From:* Support <support@example.com>\n*Sent:* Monday, November 24, 2025 10:02 AM\n*To:* Jane\n*Subject:* Invoice\n\n" + Q, R, client="outlook")
add("original-message-es", R + "\n\n-----Mensaje original-----\nDe: Support\n\n" + Q, R, lang="es")
add("original-message-de", R + "\n\n-----Ursprüngliche Nachricht-----\nVon: Support\n\n" + Q, R, lang="de")
add("original-message-fr", R + "\n\n-------- Message d'origine --------\n" + Q, R, lang="fr")

# --- mobile signatures
for line, lang in [("Sent from my iPhone", "en"), ("Envoyé de mon iPhone", "fr"), ("Von meinem iPhone gesendet", "de"),
                   ("Enviado desde mi iPhone", "es"), ("Sent from Outlook for Android", "en"), ("Inviato da iPhone", "it"),
                   ("Verzonden vanaf mijn iPhone", "nl"), ("Skickat från min iPhone", "sv"), ("Sendt fra min iPhone", "da"),
                   ("Wysłane z mojego iPhone'a", "pl"), ("Отправлено с iPhone", "ru"), ("iPhoneから送信", "ja"),
                   ("发自我的iPhone", "zh"), ("Enviado do meu iPhone", "pt"), ("Get Outlook for Android", "en"),
                   ("Sent from my Galaxy", "en"), ("Sent from Yahoo Mail on Android", "en")]:
    add("mobile-%s-%s" % (lang, line.split()[-1].lower()), R + "\n\n" + line + "\n\n" + heads["en-apple"] + "\n\n" + qq(Q),
        R, lang=lang, client="mobile", expected_signature=line)

# --- signatures with phone numbers
add("sig-signoff-phone", R + "\n\nBest regards,\nJane Doe\nHead of Operations, ACME GmbH\nPhone: +49 30 1234567\nMobile: +49 171 2345678\n",
    R, sender="Jane Doe <jane@example.org>", expected_signature="Best regards,\nJane Doe\nHead of Operations, ACME GmbH\nPhone: +49 30 1234567\nMobile: +49 171 2345678")
add("sig-dashdash", R + "\n\n-- \nJane Doe | ACME\n+1 (555) 010-2000\n", R, expected_signature="--\nJane Doe | ACME\n+1 (555) 010-2000")
add("sig-name-block-no-signoff", R + "\n\nJane Doe\nACME Corp.\nTel. +44 20 7946 0018\nwww.acme.example\n", R,
    expected_signature="Jane Doe\nACME Corp.\nTel. +44 20 7946 0018\nwww.acme.example")
add("sig-de-mfg", R + "\n\nMit freundlichen Grüßen\nMax Mustermann\nTel.: 030 123456-0\n", R, lang="de")
add("sig-fr-cordialement", R + "\n\nCordialement,\nJean Dupont\n06 12 34 56 78\n", R, lang="fr")
add("sig-sender-name-only", R + "\n\nJane\n", R, sender="Jane Doe <jane@example.org>")
add("sig-kept-view", R + "\n\nThanks,\nJane Doe\n+1 555 0100\n\nOn Mon, Nov 24, 2025 at 10:02 AM Support <support@example.com> wrote:\n" + qq(Q),
    R + "\n\nThanks,\nJane Doe\n+1 555 0100", signature="kept")

# --- forwards
fwd = "---------- Forwarded message ---------\nFrom: Bob Customer <bob@example.net>\nDate: Mon, Nov 24, 2025 at 9:00 AM\nSubject: Printer on fire\nTo: <jane@example.org>\n\nThe printer in room 3 is on fire again.\n"
add("fwd-top", fwd, fwd.strip(), note="a forward is content")
add("fwd-after-note", "Please handle this one, it's urgent.\n\n" + fwd, "Please handle this one, it's urgent.\n\n" + fwd.strip())
add("fwd-apple", "FYI\n\nBegin forwarded message:\n\nFrom: Bob <bob@example.net>\nSubject: Printer\nDate: 24 November 2025 at 09:00:00 CET\nTo: jane@example.org\n\nThe printer is on fire.\n",
    "FYI\n\nBegin forwarded message:\n\nFrom: Bob <bob@example.net>\nSubject: Printer\nDate: 24 November 2025 at 09:00:00 CET\nTo: jane@example.org\n\nThe printer is on fire.")
add("fwd-de", "Zur Info.\n\n-------- Weitergeleitete Nachricht --------\nBetreff: Drucker\nDatum: Mon, 24 Nov 2025 09:00:00 +0100\nVon: Bob <bob@example.net>\nAn: jane@example.org\n\nDer Drucker brennt.\n",
    "Zur Info.\n\n-------- Weitergeleitete Nachricht --------\nBetreff: Drucker\nDatum: Mon, 24 Nov 2025 09:00:00 +0100\nVon: Bob <bob@example.net>\nAn: jane@example.org\n\nDer Drucker brennt.", lang="de")
add("fwd-inside-quote", R + "\n\n" + heads["en-apple"] + "\n\n" + qq("See below.\n\n" + fwd), R, note="a forward marker inside history is history")

# --- false positives: nothing may be removed
for key, body in {
    "on-sentences": "On Monday I tried to log in and it failed.\nOn Tuesday it worked again, on Wednesday not.\n\nOn the whole the system is slow.",
    "code-gt": "The build fails like this:\n\n$ make\n> node build.js\n> error: cannot find module 'x'\n\nAny idea what is wrong?",
    "python-repl": "Here is what I see:\n\n>>> import foo\n>>> foo.run()\nTraceback (most recent call last):\nValueError: bad\n\nThanks for looking.",
    "quoted-error-one-line": "The app says:\n> Access denied for user 'jane'\nwhat does that mean?",
    "wrote-in-text": "My colleague wrote a long report on 12/03/2024 about this bug and I attached it.\nPlease read it.",
    "sent-from-desk": "Here is the data you asked for.\n\nSent from my desk, not from a phone, so formatting should be fine.",
    "from-in-text": "From: my side everything is fine.\nTo be honest I do not know what changed.",
    "dashes-in-text": "Steps:\n----------\n1. open the app\n2. click save\n----------\nIt crashes after step 2.",
}.items():
    add("fp-%s" % key, body, body, note="negative case: nothing should be removed")
inline = "Hi,\n\nanswers inline.\n\nOn Mon, Nov 24, 2025 at 10:02 AM Support <support@example.com> wrote:\n> Which version do you use?\n\n3.2.1\n\n> Does it happen every time?\n\nOnly after a restart.\n\n> Can you send a screenshot?\n\nAttached.\n"
add("fp-inline-answers", inline, None, checks={"contains": ["3.2.1", "Only after a restart.", "Attached."]})
add("fp-inline-no-header", "> Which version?\n3.2.1\n> Every time?\nOnly after a restart.\n", None, checks={"contains": ["3.2.1", "Only after a restart."]})

# --- HTML clients
html_cases = {
 "gmail": ('<div dir="ltr">Thanks, that fixed it!<br><div><br></div><div>Jane</div></div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Nov 24, 2025 at 10:02 AM Support &lt;<a href="mailto:support@example.com">support@example.com</a>&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex"><div dir="ltr">Please restart the service.</div></blockquote></div>', "Thanks, that fixed it!\n\nJane"),
 "apple": ('<html><body dir="auto">Thanks, that fixed it!<div><br></div><div><br><blockquote type="cite">On 24. Nov 2025, at 10:02, Support &lt;support@example.com&gt; wrote:<br><br></blockquote></div><blockquote type="cite"><div>Please restart the service.</div></blockquote></body></html>', "Thanks, that fixed it!"),
 "apple-2": ('<html><body>Thanks, that fixed it!<br><br><div>On 24 Nov 2025, at 10:02, Support &lt;support@example.com&gt; wrote:</div><br><blockquote type="cite"><div>Please restart the service.</div></blockquote></body></html>', "Thanks, that fixed it!"),
 "thunderbird": ('<html><body><p>Thanks, that fixed it!</p><div class="moz-cite-prefix">On 24.11.25 10:02, Support wrote:<br></div><blockquote type="cite" cite="mid:x@example.com"><p>Please restart the service.</p></blockquote></body></html>', "Thanks, that fixed it!"),
 "outlook": ('<html><body><div class="WordSection1"><p class="MsoNormal">Thanks, that fixed it!<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal"><b>From:</b> Support &lt;support@example.com&gt;<br><b>Sent:</b> Monday, November 24, 2025 10:02 AM<br><b>To:</b> Jane Doe<br><b>Subject:</b> Invoice<o:p></o:p></p></div></div><p class="MsoNormal">Please restart the service.</p></div></body></html>', "Thanks, that fixed it!"),
 "outlook-web": ('<div dir="ltr">Thanks, that fixed it!</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> Support &lt;support@example.com&gt;<br><b>Sent:</b> Monday, November 24, 2025 10:02<br><b>To:</b> Jane<br><b>Subject:</b> Invoice</font><div>&nbsp;</div></div><div>Please restart the service.</div>', "Thanks, that fixed it!"),
 "yahoo": ('<html><body><div class="ydp1"><div>Thanks, that fixed it!</div><div><br></div></div><div id="yahoo_quoted_123" class="yahoo_quoted"><div>On Monday, November 24, 2025, 10:02:00 AM GMT+1, Support &lt;support@example.com&gt; wrote:</div><div><br></div><div>Please restart the service.</div></div></body></html>', "Thanks, that fixed it!"),
 "aol": ('<div>Thanks, that fixed it!</div><div><br></div><div id="AOLMsgPart_2_abc"><div>-----Original Message-----<br>From: Support &lt;support@example.com&gt;<br>To: jane@aol.com<br>Sent: Mon, Nov 24, 2025 10:02 am<br>Subject: Invoice<br><br><div>Please restart the service.</div></div></div>', "Thanks, that fixed it!"),
 "hr-separator": ('<div>Thanks, that fixed it!</div><hr><div><b>From:</b> Support<br><b>Date:</b> Mon, 24 Nov 2025<br><b>Subject:</b> Invoice</div><div>Please restart the service.</div>', "Thanks, that fixed it!"),
 "gmail-forward": ('<div dir="ltr">Please look at this.<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <b class="gmail_sendername">Bob</b> <span>&lt;bob@example.net&gt;</span><br>Date: Mon, Nov 24, 2025 at 9:00 AM<br>Subject: Printer<br>To: &lt;jane@example.org&gt;<br></div><br><div dir="ltr">The printer is on fire.</div></div></div>', None),
 "list-and-link": ('<p>Two things:</p><ul><li>restart <a href="https://example.com/kb/1">this article</a></li><li>clear the cache</li></ul><div class="gmail_quote">On Mon, Nov 24, 2025 at 10:02 AM Support wrote:<blockquote>old</blockquote></div>', "Two things:\n\n- restart this article (https://example.com/kb/1)\n- clear the cache"),
}
for key, (h, exp) in html_cases.items():
    if exp is None:
        add("html-%s" % key, h, None, fmt="html", client=key, checks={"contains": ["Please look at this.", "The printer is on fire."]})
    else:
        add("html-%s" % key, h, exp, fmt="html", client=key.split("-")[0])

# --- structure variants (own wording)
A = "The export works again, thank you."
add("wrapped-iso-header", A + "\n\n2025-11-24 10:02 GMT+01:00 Helpdesk <\nhelpdesk-replies-long-address@support.example.com>:\n\n> Please try the export again.\n>\n", A)
add("top-quote-bottom-reply", "On Mon, Nov 24, 2025 at 10:02 AM, Helpdesk wrote:\n\n> Please try the export again.\n>\n" + A, A)
add("nested-quote-then-trailing-text", A + "\nOn 24/11/2025 10:02, Helpdesk wrote:\n\n>Please try again.\n>On 23/11/2025 09:00, Jane wrote:\n>>\n>> Export broken.\n\nKind regards, Jane", A + "\n\nKind regards, Jane", signature="kept")
add("attribution-three-lines", A + "\n\nOn Nov 24, 2025, at 10:02 AM, Helpdesk <\nhelpdesk-9f8e7d6c5b4a@tickets.example.com>\nwrote:\n\nPlease try the export again.\n", A)
add("dashed-wrote", A + "\n\n-----On 24/11/2025 10:02, Helpdesk wrote-----\n\nPlease try the export again.\n", A)
add("android-wrote", A + "\n\n---- Helpdesk wrote ----\n\n> Please try the export again.\n", A)
add("on-sent", A + "\n\nOn 24-Nov-2025, at 10:02, Helpdesk <helpdesk@example.com> sent:\n\n> Please try the export again.\n", A)
add("header-shares-line", A + " On Mon, Nov 24, 2025 at 10:02 AM, helpdesk@example.com wrote:\n> Please try again.", A)
add("date-to-block", A + "\n\nDate: Mon, 24 Nov 2025 10:02:00 +0100\nTo: jane@example.org\n\n", A)
add("rule-single-from", A + "\n\n________________________________\nFrom: Helpdesk\n\nPlease try the export again.\n", A)
add("from-inline-fields-html", "<div>" + A + "</div><hr><div><b>From: helpdesk@example.com</b> <b>Date: Mon, 24 Nov 2025 10:02</b></div><div>Please try again.</div>", A, fmt="html")
add("html-lone-blockquote", "<div>" + A + "</div><blockquote><div>Please try the export again.</div><div>Helpdesk</div></blockquote><div>Legal disclaimer text.</div>", A + "\n\nLegal disclaimer text.", fmt="html", signature="kept")
add("html-single-line-gmail-blockquote-kept", 'See the log:<blockquote class="gmail_quote">ERROR 42 at line 7</blockquote>', "See the log:\n> ERROR 42 at line 7", fmt="html")
add("html-windows-mail-border", '<div>' + A + '</div><div style="padding-top: 5px; border-top-color: rgb(229, 229, 229); border-top-width: 1px; border-top-style: solid;"><div><b>From:</b> Helpdesk<br><b>Sent:</b> Monday, November 24, 2025 10:02<br><b>To:</b> Jane<br><b>Subject:</b> Export</div></div><div>Please try again.</div>', A, fmt="html")
add("html-yandex-date-address", '<div>' + A + '</div><div>24.11.2025, 10:02, "Helpdesk" &lt;helpdesk@example.com&gt;:</div><blockquote>Please try again.</blockquote>', A, fmt="html")
add("html-zimbra-divider", '<div>' + A + '</div><hr id="zwchr" data-marker="__DIVIDER__"><div><b>From: </b>Helpdesk</div><div>Please try again.</div>', A, fmt="html")
add("mailru-ot", A + "\n\n\nПонедельник, 24 ноября 2025, 10:02 +03:00 от Helpdesk <helpdesk@example.com>:\n> Please try again.\n", A, lang="ru")
add("quoted-outlook-block-no-header", A + "\n\n> From: helpdesk@example.com\n> To: jane@example.org\n> Subject: Export\n>\n> Please try again.\n", A)
add("bottom-post-list-footer", "Hi all,\n\ndoes anyone know how to rotate the logs?\n\n-Jane\n\n\n_______________________________________________\nops-users mailing list\nops-users@lists.example.org\nhttps://lists.example.org/mailman/listinfo/ops-users\n", "Hi all,\n\ndoes anyone know how to rotate the logs?", sender="Jane Roe <jane@example.org>", expected_signature="-Jane")
add("reply-then-signature-under-quote", A + "\n\nOn Mon, Nov 24, 2025 at 10:02 AM, Helpdesk <helpdesk@example.com> wrote:\n\n> Please try again.\n\n\n-- \n\n*Jane Roe | Finance*", A)
add("sent-with-app", A + "\n\nSent with Spark", A, expected_signature="Sent with Spark")
add("multiword-device", A + "\n\nSent from my Samsung Galaxy smartphone.", A)
add("signoff-thanks-for-not-signature", "Can you reset my password?\n\nThanks for your help with this.", "Can you reset my password?\n\nThanks for your help with this.")
add("feedback-separator-text", "Please answer below.\n\n---------------- Write your answer below this line ----------------\n\nThe app works fine now.", "Please answer below.\n\n---------------- Write your answer below this line ----------------\n\nThe app works fine now.")
add("ja-signoff", "確認しました。ありがとうございます。\n\nよろしくお願いいたします。\n佐藤\n\n2025年11月24日(月) 10:02 Helpdesk <helpdesk@example.com>:\n> 再起動してください。\n", "確認しました。ありがとうございます。", lang="ja")
add("sv-signoff-plural", "Hej!\n\nNu fungerar det.\n\nMed vänliga hälsningar\nAnna Berg\nEkonomiavdelningen\n", "Hej!\n\nNu fungerar det.", lang="sv")
add("da-signoff-phone", "Hej\n\nDet virker nu.\n\nVenlig hilsen\nLars Hansen\nTlf. 12 34 56 78\n", "Hej\n\nDet virker nu.", lang="da")
add("fp-as-i-wrote", "As I wrote on 12/03/2025:\n\nthe export fails for files over 2 GB.\nIt still does.", "As I wrote on 12/03/2025:\n\nthe export fails for files over 2 GB.\nIt still does.")
add("fp-meeting-from-colon", "We met at 10:30 from the office, agenda:\n\n1. export\n2. billing", "We met at 10:30 from the office, agenda:\n\n1. export\n2. billing")
add("fp-bullets-dash-names", "Who is on call:\n- Anna Berg\n- Lars Hansen", "Who is on call:\n- Anna Berg\n- Lars Hansen")

add("single-from-line", A + "\n\nFrom: Helpdesk <helpdesk@example.com>\n\nPlease try the export again.\n", A)
add("time-first-address-header", A + "\n\n10:02, 24 November 2025, \"Helpdesk\" <helpdesk@example.com>:\n\nPlease try the export again.\n", A)
add("da-oprindelig-besked", A + "\n\n-----Oprindelig besked-----\nFra: Helpdesk\n\nPrøv igen.\n", A, lang="da")
add("fr-nbsp-colon", "Merci, c'est réglé.\n\nLe 24 nov. 2025 à 10:02, Helpdesk <helpdesk@example.com> a écrit\u00a0:\n\n> Pouvez-vous réessayer ?\n", "Merci, c'est réglé.", lang="fr")
add("quoted-apple-header-inside-quote", A + "\n\n> On 24 Nov 2025, at 10:02, Helpdesk <helpdesk@example.com> wrote:\n>\n> Please try again.\n", A)
add("fp-verb-then-clause", "On 12/03 John wrote a script that does this:\n\nprint(1)\nprint(2)", "On 12/03 John wrote a script that does this:\n\nprint(1)\nprint(2)")
add("sig-legal-footer", A + "\n\nRegards\nJohn Smith\nSenior Engineer | ACME Inc.\nT: +1 555 123 4567\n\nCONFIDENTIALITY NOTICE: This e-mail is intended solely for the addressee and may contain privileged information. If you are not the intended recipient, please delete it.\n", A)

add("html-aol-id", '<div>Fine now.</div><div id="AOLMsgPart_2_abc"><div>On Monday Support wrote:</div><div>Please try again.</div></div>', "Fine now.", fmt="html", client="aol")
add("html-yahoo-id", '<div>Fine now.</div><div id="yahoo_quoted_99"><div>Support said</div><div>Please try again.</div></div>', "Fine now.", fmt="html", client="yahoo")

with open(Path(__file__).with_name("cases.jsonl"), "w") as f:
    for c in cases:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
print(len(cases))
