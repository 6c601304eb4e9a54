"""Reply extraction: the fields of ReplyParts, raw messages, HTML rendering, speed."""

from __future__ import annotations

import json
import random
import re
import time
from email.message import EmailMessage
from pathlib import Path

from mailproc.parse.html_text import html_to_text
from mailproc.parse.reply import ReplyParts, extract, extract_from_message
from mailproc.parse.reply import patterns as P
from mailproc.parse.reply import legal as L
from mailproc.parse.reply.signature import _sentence

QUOTE = "On Mon, Nov 24, 2025 at 10:02 AM Support <support@example.com> wrote:\n> Did the restart help?\n> Support"


def test_fields_split_text_quote_and_signature():
    body = "It did, thanks.\n\nBest regards,\nJane Doe\nACME GmbH\n+49 30 1234567\n\n" + QUOTE
    parts = extract(body)
    assert parts.text == "It did, thanks."
    assert parts.signature.startswith("Best regards,") and "+49 30 1234567" in parts.signature
    assert parts.quoted.startswith("On Mon, Nov 24, 2025") and "Did the restart help?" in parts.quoted
    assert parts.text_with_signature == parts.text + "\n\n" + parts.signature


def test_no_quote_no_signature_keeps_everything():
    body = "Hello,\n\nmy printer does not print.\nWhat can I do?"
    assert extract(body) == ReplyParts(body, "", "")


def test_empty_inputs():
    assert extract() == ReplyParts("", "", "")
    assert extract("", html="") == ReplyParts("", "", "")
    assert extract("   \n") == ReplyParts("", "", "")


def test_sender_name_starts_signature():
    body = "Please close the ticket.\n\nJane\n"
    assert extract(body, sender="Jane Doe <jane@example.org>").signature == "Jane"
    # Without the sender, a lone first name is not enough evidence.
    assert extract(body).signature == ""


def test_signature_never_swallows_whole_message():
    assert extract("Thanks,\nJane").text == "Thanks,\nJane"


def test_interleaved_answers_are_kept():
    body = "On Mon, Nov 24, 2025 at 10:02 AM Support <s@example.com> wrote:\n> Version?\n3.2\n> OS?\nLinux\n"
    text = extract(body).text
    assert "3.2" in text and "Linux" in text


def test_forward_is_content_but_marker_inside_quote_is_history():
    fwd = "---------- Forwarded message ---------\nFrom: Bob <bob@example.net>\nSubject: Printer\n\nIt burns.\n"
    assert "It burns." in extract("See below.\n\n" + fwd).text
    inside = "Done.\n\n" + QUOTE + "\n> " + fwd.replace("\n", "\n> ")
    parts = extract(inside)
    assert parts.text == "Done." and "Forwarded message" in parts.quoted


def test_html_body_quote_removed_and_rendered_as_text():
    html = ('<div dir="ltr">Works now &amp; thanks!<br><ul><li>one</li><li>two</li></ul></div>'
            '<div class="gmail_quote">On Mon, Nov 24, 2025 Support wrote:<blockquote>old</blockquote></div>')
    parts = extract(html=html)
    assert parts.text == "Works now & thanks!\n\n- one\n- two"
    assert "old" in parts.quoted


def test_html_body_that_is_one_blockquote_is_the_text_not_history():
    # Nothing outside the blockquote: an editor's indent, or the words written inside it. Read
    # with a level taken off, an attribution inside still starts the history.
    indented = "<blockquote>My printer is broken.<br>It says E42.<blockquote>old</blockquote></blockquote>"
    assert extract(html=indented).text == "My printer is broken.\nIt says E42."
    inside = ("<blockquote>Reply<div>On 11-Apr-2011, at 6:54 PM, Bob &lt;bob@example.com&gt; wrote:"
              "</div><div>Test</div></blockquote>")
    parts = extract(html=inside)
    assert parts.text == "Reply" and parts.quoted.endswith("Test")


def test_html_reply_with_nothing_new_stays_empty():
    # Apple Mail writes its attribution inside the blockquote; words outside keep it a quote.
    apple = ('<blockquote type="cite"><div>On Jun 5, 2020, at 10:00, Bob &lt;bob@example.com&gt; '
             "wrote:</div><br><div>old text</div></blockquote>")
    assert extract(html=apple).text == ""
    outlook = ("<blockquote><div>From: Bob &lt;bob@example.com&gt;<br>Sent: Monday<br>To: Support"
               "<br>Subject: hi</div><br><div>old text</div></blockquote>")
    assert extract(html=outlook).text == ""
    assert extract(html="<p>Thanks!</p><blockquote>old text</blockquote>").text == "Thanks!"


def test_text_body_preferred_over_html():
    assert extract("plain wins", html="<p>html loses</p>").text == "plain wins"


def _message(plain: str | None, html: str | None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Doe <jane@example.org>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "Re: printer"
    if plain is not None:
        msg.set_content(plain)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    return msg.as_bytes()


def test_extract_from_message_prefers_plain_part():
    raw = _message("Fixed, thanks.\n\n" + QUOTE, "<p>Fixed in HTML</p>")
    assert extract_from_message(raw).text == "Fixed, thanks."


def test_extract_from_message_html_only_and_charset():
    raw = _message(None, "<p>Grüße aus Köln</p><blockquote type=cite>alt</blockquote>")
    parts = extract_from_message(raw)
    assert parts.text == "Grüße aus Köln"


def test_extract_from_message_uses_sender_for_signature():
    raw = _message("Please close it.\n\nJane\n", None)
    assert extract_from_message(raw).signature == "Jane"


def test_html_to_text_rules():
    html = ("<html><head><title>t</title><style>p{}</style></head><body><script>x()</script>"
            "<p>A&nbsp;&lt;b&gt;</p><p>see <a href='https://x.example/a'>docs</a> or "
            "<a href='https://x.example/b'>https://x.example/b</a></p><br><br><br><br><div>end</div></body></html>")
    assert html_to_text(html) == "A <b>\n\nsee docs (https://x.example/a) or https://x.example/b\n\nend"


def test_html_to_text_ordered_list_and_unclosed_tags():
    assert html_to_text("<ol><li>first<li>second</ol><p>after") == "1. first\n2. second\n\nafter"


def test_speed_at_least_1000_text_cases_per_second():
    body = ("Could you check the invoice?\nThe total looks wrong.\n\nThanks,\nJane Doe\n+1 555 0100\n\n"
            + QUOTE + "\n" + "> more history line\n" * 30)
    start = time.perf_counter()
    for _ in range(500):
        extract(body)
    assert 500 / (time.perf_counter() - start) > 1000


def test_outlook_forward_kept_when_subject_says_forward():
    body = ("Please take over.\n\nFrom: Bob <bob@example.net>\nSent: Monday, November 24, 2025 9:00 AM\n"
            "To: Jane <jane@example.org>\nSubject: Printer\n\nThe printer is on fire.\n")
    msg = EmailMessage()
    msg["From"] = "Jane <jane@example.org>"
    msg["Subject"] = "FW: Printer"
    msg.set_content(body)
    assert "The printer is on fire." in extract_from_message(msg.as_bytes()).text
    msg.replace_header("Subject", "RE: Printer")
    assert extract_from_message(msg.as_bytes()).text == "Please take over."


def test_signature_with_contact_lines_and_legal_footer():
    body = ("The export works again.\n\nRegards\nJohn Smith\nSenior Engineer | ACME Inc.\n"
            "T: +1 555 123 4567 | M: +1 555 765 4321\njohn@acme.example\n\n"
            "CONFIDENTIALITY NOTICE: This e-mail is intended solely for the addressee and may contain "
            "privileged information. If you are not the intended recipient, please delete it.\n")
    parts = extract(body)
    assert parts.text == "The export works again."
    assert "+1 555 765 4321" in parts.signature and "CONFIDENTIALITY" in parts.signature


def test_html_emoji_images_keep_their_alt_but_logos_do_not():
    assert html_to_text('<p>Great <img alt="🎉" src="x.png"> <img alt="ACME logo" src="l.png"></p>') == "Great 🎉"


def test_unknown_charset_does_not_crash():
    raw = (b"From: a@example.org\nSubject: x\nContent-Type: text/plain; charset=x-unknown-8\n\n"
           b"Works now.\n\nOn Mon, Nov 24, 2025 at 10:02 AM b@example.com wrote:\n> old\n")
    assert extract_from_message(raw).text == "Works now."


def test_inline_reply_keeps_each_answer_with_its_question_and_quotes_every_quote():
    body = ("Hi,\n\n" + QUOTE.split("\n")[0] + "\n> Which version?\n3.2.1\n> Every time?\nOnly after a restart.\n"
            "> Regards,\n> Support\n")
    parts = extract(body)
    assert parts.inline
    assert parts.text.endswith("> Which version?\n3.2.1\n> Every time?\nOnly after a restart.")
    assert parts.answers == "Hi,\n\n3.2.1\nOnly after a restart."
    assert "> Which version?" in parts.quoted and "> Every time?" in parts.quoted and "> Support" in parts.quoted
    # A reply above the quote is not inline, and its answers are its text.
    plain = extract("It did, thanks.\n\n" + QUOTE)
    assert not plain.inline and plain.answers == plain.text == "It did, thanks."


def test_subject_tells_a_forward_from_a_reply_that_carries_one():
    fwd = ("See the bank's answer.\n\n---------- Forwarded message ---------\nFrom: Bank <info@bank.example>\n"
           "Date: Mon, 2 Mar 2026 at 09:00\nSubject: Transfer\n\nThe transfer was sent.\n")
    assert "The transfer was sent." in extract(fwd).text  # no subject: the forward may be the content
    assert "The transfer was sent." in extract(fwd, subject="Fwd: Transfer").text
    reply = extract(fwd, subject="Re: [#4711] Refund")
    assert reply.text == "See the bank's answer." and "The transfer was sent." in reply.quoted
    assert extract(fwd, subject="AW: Erstattung").text == "See the bank's answer."
    msg = EmailMessage()
    msg["From"] = "Jane <jane@example.org>"
    msg["Subject"] = "Re: [#4711] Refund"
    msg.set_content(fwd)
    assert extract_from_message(msg.as_bytes()).text == "See the bank's answer."


def test_signature_with_a_degree_or_a_dotted_legal_form():
    # "Ph.D.", "s.r.o.", "Sp. z o.o." end a name or a company, not a sentence.
    for sig in ("Jane Doe, Ph.D.\nSenior Scientist, Contoso Labs\nTel: +1 617 555 0143",
                "Anna Kowalska\nPrzykład Sp. z o.o.\ntel. +48 22 123 45 67"):
        parts = extract("The samples arrived in good condition.\n\nBest regards,\n" + sig + "\n")
        assert parts.text == "The samples arrived in good condition."
        assert "Tel" in parts.signature or "tel." in parts.signature
    # Other dotted endings still end sentences: the request under "Thanks" is kept.
    assert "Ship it to the U.S." in extract("The invoice is wrong.\n\nThanks\nShip it to the U.S.\n").text


def test_microsoft_clients_lines_with_their_link_are_footers_a_persons_link_is_not():
    for footer in ("Sent from Mail<https://go.microsoft.com/fwlink/?LinkId=550986> for Windows 10",
                   "Obtenir Outlook pour Android<https://aka.ms/AAb9ysg>",
                   "Outlook für Android herunterladen<https://aka.ms/AAb9ysg>",
                   "Hämta Outlook för Android<https://aka.ms/ghei36>",
                   "Envoyé à partir de Courrier<https://go.microsoft.com/fwlink/?LinkId=550986> "
                   "pour Windows 10",
                   "Enviado desde Correo<https://go.microsoft.com/fwlink/?LinkId=550986> para Windows"):
        parts = extract(f"Thanks, the new password works.\n\n{footer}\n")
        assert parts.text == "Thanks, the new password works." and parts.signature == footer
    html = ('<div>Thanks, the refund arrived.</div><div><br></div><div>Sent from <a href="https://'
            'go.microsoft.com/fwlink/?LinkId=550986">Mail</a> for Windows 10</div>')
    assert extract(html=html).text == "Thanks, the refund arrived."
    letter = ("Hi,\n\nthe link on your site\nGet the app for Android<https://play.google.com/store/"
              "apps/details?id=com.example.app.reader>\ndoes not work for me.\n\nThanks\nAnna")
    assert "does not work for me." in extract(letter).text
    # The client's line with the person's words after its link is the person's.
    letter = ("Hi,\n\nyour colleague said:\n\nGet Outlook for Android<https://aka.ms/ghei36> and "
              "sign in with your work account\n\nI did that but still get error 0x80070005.\n")
    assert "still get error 0x80070005" in extract(letter).text


def test_google_groups_wrote_on_header_and_a_lone_quote_marker_are_history():
    parts = extract("Thanks, that fixed it.\n\n'Acme Support' via Help Center <help@example.com> "
                    "wrote on 12/06/2024 10:00:\n> Please try restarting the sync.\n")
    assert parts.text == "Thanks, that fixed it."
    assert parts.quoted.startswith("'Acme Support' via Help Center")
    # Prose with the same words and no address before them stays the person's.
    letter = "As I wrote on 12/06/2024 10:00:\nthe sync stops at 80 %.\n"
    assert "As I wrote on 12/06/2024 10:00:" in extract(letter).text
    # An empty ">" under a short reply is the client's, a ">" line with words is not.
    assert extract("Yes, go ahead.\n>\n").text == "Yes, go ahead."
    assert extract("Same error here, with\n> 5 users online\n").text.endswith("> 5 users online")


def test_a_postscript_under_the_signature_is_the_persons():
    parts = extract("Please cancel order 4411.\n\nBest regards,\nJohn Smith\nAcme Ltd.\n\n"
                    "P.S. The invoice address changed as well: 12 High Street, Leeds.\n")
    assert parts.text == ("Please cancel order 4411.\n\n"
                          "P.S. The invoice address changed as well: 12 High Street, Leeds.")
    assert parts.signature == "Best regards,\nJohn Smith\nAcme Ltd."
    # Without a signature above it, nothing is taken out.
    letter = "The sync fails.\n\nIt fails on Tuesdays too.\n\nPS: and on Fridays.\n"
    assert extract(letter).text == letter.strip()
    # "P.S." alone over its words is no initials; Spanish writes "P.D.".
    parts = extract("Please add the Berlin office.\n\nThanks\nDirk\n\nP.S.\nThe contact there is "
                    "Jana Wolf, jana.wolf@example.de.\n", sender="dirk@example.de")
    assert parts.text.endswith("P.S.\nThe contact there is Jana Wolf, jana.wolf@example.de.")
    parts = extract("Gracias, ya funciona.\n\nUn saludo,\nPablo Sánchez\nResponsable de Sistemas\n"
                    "Tel. +34 93 123 45 67\n\nP.D.: ¿Me dais acceso a pruebas?\n")
    assert parts.text == "Gracias, ya funciona.\n\nP.D.: ¿Me dais acceso a pruebas?"


def test_finnish_reply_subject_vs_is_a_reply_when_a_wrote_line_heads_a_quote():
    # "VS:" is Finnish Outlook's reply and Norwegian and Danish Outlook's forward.
    letter = ("Hei,\n\nkiitos, lasku on nyt maksettu.\n\nTerveisin\nSanna\n\n"
              "ti 4. maalisk. 2025 klo 10.12 Laskutus (laskutus@yritys.example.fi)\nkirjoitti:\n\n"
              "> laskunne 4471 on erääntynyt.\n")
    parts = extract(letter, subject="Vs: Maksumuistutus")
    assert parts.text == "Hei,\n\nkiitos, lasku on nyt maksettu." and "4471" in parts.quoted
    forward = ("Se nedenfor.\n\nFra: Banken <no-reply@bank.example.no>\nSendt: 2. mars 2026 10:15\n"
               "Til: ola@example.no\nEmne: Trekk\n\nTrekk på 990 kr.\n")
    assert "Trekk på 990 kr." in extract(forward, subject="VS: Trekk").text


def test_a_forwarders_signature_above_the_forwarded_mail_is_set_aside():
    letter = ("Hi,\n\nPlease call the customer back today.\n\nKind regards,\nHelen Moore\n"
              "Customer Relations Manager\nMobile +44 7700 900777\n\n"
              "---------- Forwarded message ---------\nFrom: Gary Stone <gary@example.co.uk>\n"
              "Date: Tue, 4 Mar 2025 at 17:55\nSubject: No engineer\nTo: <info@example.co.uk>\n\n"
              "Nobody came for the boiler service.\n")
    parts = extract(letter, subject="Fwd: No engineer")
    assert "Please call the customer back today." in parts.text
    assert "Nobody came for the boiler service." in parts.text
    assert "Mobile +44 7700 900777" in parts.signature and "Helen Moore" not in parts.text
    assert "Danke und Gruß" in extract("Bitte VPN einrichten.\n\nDanke und Gruß\nThomas Weber\n"
                                       "Handy: 0172 9876543\n").signature


def test_answers_between_quotes_under_outlooks_header_when_the_reply_says_so():
    letter = ("Hi,\n\nanswers inline below.\n\n-----Original Message-----\n"
              "From: Billing Team <billing@saas.example.com>\nSent: Wednesday, March 5, 2025 08:14\n"
              "To: Omar <omar@example.org>\nSubject: Your invoice query\n\n"
              "> Which invoice number are you referring to?\nINV-2025-00871\n\n"
              "> Was the card charged twice?\nCharged twice, on 1 March.\n\n"
              "> Kind regards,\n> Billing Team\n")
    parts = extract(letter, subject="RE: Your invoice query")
    assert parts.inline and "INV-2025-00871" in parts.answers
    assert "Charged twice, on 1 March." in parts.answers
    assert "Sent: Wednesday" not in parts.text and "Billing Team" not in parts.answers
    # Without the note, Outlook's history is someone else's mail, answers and all.
    plain = extract(letter.replace("answers inline below.", "see below."), subject="RE: x")
    assert "INV-2025-00871" not in plain.text


def test_a_header_line_a_sentence_announces_is_the_persons():
    letter = ("Hi,\n\nThe quarantine log shows:\n\nFrom: billing@supplier.example.com To: "
              "ap@example.com Status: rejected (550 5.7.1 SPF fail)\n\nCan you whitelist the "
              "supplier's domain?\n\nThanks,\nNick\n")
    assert "Can you whitelist the supplier's domain?" in extract(letter).text
    letter = ("Hello,\n\nRight now recipients see:\n\nFrom: noreply <noreply@notify.example.com>\n\n"
              "and many think it is spam.\n")
    assert "and many think it is spam." in extract(letter).text
    # Over ">" lines the same line heads the history.
    reply = "Done, thanks.\n\nSee below:\n\nFrom: Support <help@example.com>\n> Please restart it.\n"
    assert extract(reply).text == "Done, thanks.\n\nSee below:"


def test_what_the_postscript_forward_and_wrote_on_rules_leave_alone():
    # Initials are a name's, a prompt is PowerShell's: the signature under them is still one.
    for name in ("P.D. Smith", "P.S. Kumar"):
        parts = extract(f"The VPN works again.\n\nBest regards\n{name}\nHead of IT\nTel. +44 20 7946 0000\n")
        assert parts.text == "The VPN works again." and name in parts.signature
    log = ("Service status after the reboot:\n\n---\n\nPS C:\\> Get-Service spooler\nStopped\n")
    assert "Service status after the reboot:" in extract(log).text
    # Above a P.S. or a forwarded mail, only a sign-off opens a signature: an address asked
    # about is the person's.
    letter = ("Hi,\n\nthe replacement should go to our warehouse\n\nNorthwind Warehouse\n"
              "Unit 4, Riverside Park\nTel. 0113 496 0123\n\nP.S. Deliveries only before 2pm please.\n")
    assert "Unit 4, Riverside Park" in extract(letter, subject="Re: Replacement").text
    forward = ("Please call this customer back:\n\nDr. Helen Park\nParkside Clinic\nTel. 0161 496 0000\n\n"
               "---------- Forwarded message ---------\nFrom: Helen <helen@clinic.example>\n"
               "Subject: Scanner\n\nThe scanner is broken.\n")
    assert "Tel. 0161 496 0000" in extract(forward, subject="Fwd: Scanner").text
    # A forward whose note quotes a colleague keeps both: only "VS:" may also be a reply.
    forward = ("Hi,\n\nMy colleague Tom wrote:\n> the VAT on this invoice is wrong\nI agree with him.\n\n"
               "---------- Forwarded message ---------\nFrom: Billing <billing@vendor.example>\n"
               "Subject: Invoice 113\n\nPlease find invoice 113 attached.\n")
    parts = extract(forward, subject="Fwd: Invoice 113")
    assert "I agree with him." in parts.text and "invoice 113 attached" in parts.text
    # "wrote on" in the person's sentence, over their own words, is prose.
    letter = ("Hello,\n\nAs your colleague Sarah <sarah@acme.example> wrote on 3 March 2025 at 10:15:\n"
              "the refund is on its way.\n\nI still have not received the refund.\n")
    assert "I still have not received the refund." in extract(letter).text


def test_second_review_someone_elses_inline_answers_a_full_header_line_and_short_postscripts():
    history = ("\n\n-----Original Message-----\nFrom: Bob <bob@vendor.example>\nSent: Monday, "
               "March 2, 2026 10:15\nTo: Jane <jane@client.example>\nSubject: RE: Upgrade\n\n"
               "> Does the upgrade need downtime?\nYes, the upgrade takes about ten minutes.\n"
               "> Can it run at night?\nYes, any time after 20:00.\n")
    parts = extract("Thanks for your answers inline, that clears it up." + history,
                    subject="RE: Upgrade")
    assert "ten minutes" not in parts.text
    # A whole header on one line heads the history, announced or not.
    letter = ("Still failing, see the thread below:\n\nFrom: Bob <bob@vendor.example> Sent: Tuesday, "
              "March 3, 2026 10:15 AM To: Jane <jane@client.example> Subject: RE: Export\n\n"
              "Hi Jane,\n\nthe fix ships with 4.3 on Friday.\n\nBob\n")
    assert "ships with 4.3" not in extract(letter, subject="Re: Export").text
    # Short postscripts are no names; spaced initials and a company are.
    for ps in ("P.S. Happy Holidays", "PS: Happy New Year", "P.S. Thank You"):
        parts = extract(f"Renewal confirmed.\n\nBest regards,\nJane\n\n{ps}\n")
        assert ps in parts.text and "Best regards" not in parts.text
    for name in ("P. S. Raghavan", "PPS Logistics GmbH"):
        parts = extract(f"How many licences are left?\n\nRegards,\n{name}\nTechnical Lead\n"
                        "+91 44 5555 0100\n")
        assert parts.text == "How many licences are left?"


def test_a_notes_signature_over_inline_answers_and_a_forward_without_a_note():
    letter = ("Hi Bob,\n\nanswers inline below.\n\n-- \nJane Doe\nClient Corp\n\n"
              "-----Original Message-----\nFrom: Bob <bob@vendor.example>\nSent: Monday, March 2, "
              "2026 10:15\nTo: Jane <jane@client.example>\nSubject: RE: Bug\n\n"
              "> Which version do you run?\nVersion 4.2.1 on Windows 11.\n"
              "> Since when?\nSince Monday.\n")
    parts = extract(letter, subject="RE: Bug")
    assert "Version 4.2.1 on Windows 11." in parts.answers and "Since Monday." in parts.answers
    assert "Jane Doe" in parts.signature and "Jane Doe" not in parts.text
    forward = ("Best regards,\nAnna Berg\nSales Lead\n\n---------- Forwarded message ---------\n"
               "From: Bank <info@bank.example>\nSubject: Transfer\n\nThe transfer was sent.\n")
    parts = extract(forward, subject="Fwd: Transfer")
    assert "Sales Lead" in parts.signature and "The transfer was sent." in parts.text


def test_html_answers_set_apart_in_colour_inside_the_quote_when_the_reply_says_so():
    quote = ('<div class="gmail_quote"><div class="gmail_attr">On Tue, Mar 4, 2025 at 10:12 AM '
             'Support &lt;help@example.com&gt; wrote:<br></div><blockquote class="gmail_quote" '
             'style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">'
             '<p>Which version do you use?</p><div><font color="#0000ff">5.2.1 on a Mac.</font></div>'
             '<p>Since when?</p><div><span style="color: rgb(0, 112, 192)">Two days <b>ago</b>.</span>'
             '</div><p><span style="color:#ff0000">Important:</span> back up first.</p>'
             '<p>Kind regards,<br>Priya<br><b>Customer Success</b></p></blockquote></div>')
    parts = extract(html='<div dir="ltr">Answers inline in blue.</div>' + quote)
    assert parts.inline and "5.2.1 on a Mac." in parts.answers and "Two days ago." in parts.answers
    # The quoted mail's own red, bold and questions are not the answers the note names.
    for theirs in ("Which version do you use?", "Important:", "Customer Success"):
        assert theirs not in parts.answers
    # Without the note, coloured words in the quote are the quoted mail's.
    parts = extract(html='<div dir="ltr">Thanks, that helps.</div>' + quote)
    assert parts.text == "Thanks, that helps." and "5.2.1 on a Mac." in parts.quoted
    # "The comments in red on page 2" is about a document, not a note.
    assert not P.INLINE_NOTE.search("the comments in red on page 2 of the contract")


def test_device_lines_with_their_apology_or_yahoos_link_are_footers():
    for footer in ("Sent from my phone, excuse typos", "Sent from my iPhone, please excuse brevity"):
        parts = extract(f"The API still returns 503.\n\n{footer}\n")
        assert parts.text == "The API still returns 503." and parts.signature == footer
    html = ('<div dir="ltr">Thanks, the reset link worked.</div><br><div id="ymail_android_signature">'
            '<a href="https://go.onelink.me/107872968?pid=InProduct">Sent from Yahoo Mail on Android</a></div>')
    assert extract(html=html).text == "Thanks, the reset link worked."
    assert "the rest is broken" in extract("Sent from my phone, the rest is broken\n").text


def test_apple_mails_forward_inside_its_quote_is_content_under_a_forward_subject():
    html = ('<html><body>Can you check this?<div><br></div><div>Ingrid<br><blockquote type="cite">'
            '<div>Begin forwarded message:</div><br><div><b>From: </b>Clinic &lt;noreply@clinic.example&gt;'
            '</div><div><b>Subject: </b>Reminder</div><br><div>Your appointment is on 5 March at 14:30.'
            '</div></blockquote></div></body></html>')
    parts = extract(html=html, subject="Fwd: Reminder")
    assert "Can you check this?" in parts.text and "5 March at 14:30" in parts.text
    # Under "Re:" the same quote is history.
    assert "5 March at 14:30" not in extract(html=html, subject="Re: Reminder").text


def test_a_shown_header_and_a_pre_log_are_the_persons_own_words():
    html = ('<div>The reminders look like this:</div><div><br></div><div>From: Notifications '
            '&lt;noreply@example.com&gt;</div><div>Subject: Payment reminder</div><div><br></div>'
            '<div>but they should show our company name.</div><div><br></div><div>Regards, Tereza</div>')
    assert "but they should show our company name." in extract(html=html).text
    html = ('<div>The build fails:</div><pre>&gt; sdk@3.4.0 build\nerror TS2322\n--\nFound 1 error\n'
            '</pre><div>Node 20.11, TypeScript 5.4.</div><div><br></div><div>Yusuf</div>')
    parts = extract(html=html)
    assert "Found 1 error" in parts.text and "Node 20.11, TypeScript 5.4." in parts.text
    # Thunderbird writes its signature in <pre>: still a signature.
    html = ('<p>Yes, go ahead.</p><pre class="moz-signature" cols="72">-- \nAnna Berg\nClient AB</pre>')
    assert extract(html=html).text == "Yes, go ahead."


def test_html_signature_lines_with_their_links_written_out():
    html = ('<p>Please activate the three extra users today.</p><p>Kind regards,</p><p>Tom Fletcher</p>'
            '<p>Managing Director</p><p>Tel 01632 960123 | Mob 07700 900456</p><p>'
            '<a href="https://www.linkedin.com/in/tomfletcher">LinkedIn</a> | <a href="https://twitter.com/'
            'fletcherjoinery">Twitter</a> | <a href="https://facebook.com/fletcherjoinery">Facebook</a></p>'
            '<p><a href="https://teams.microsoft.com/l/chat/0/0?users=tom@fletcher.example">Chat with me '
            'on Teams</a></p>')
    parts = extract(html=html)
    assert parts.text == "Please activate the three extra users today."
    assert "Chat with me on Teams" in parts.signature
    # A sentence with a link under the sign-off is the person's.
    html = ('<p>Thanks,</p><p>Please read the migration guide (<a href="https://docs.example.com/guides/'
            'migration/v5">here</a>) before you call us on Monday morning.</p>')
    assert "before you call us on Monday morning." in extract(html=html).text


def test_device_lines_in_greek_korean_polish_and_turkish_are_footers():
    for footer in ("Στάλθηκε από το iPhone μου", "내 iPhone에서 보냄",
                   "Pobierz aplikację Outlook dla systemu Android",
                   "Samsung Galaxy akıllı telefonumdan gönderildi."):
        parts = extract(f"The invoice is still wrong.\n\n{footer}\n")
        assert parts.text == "The invoice is still wrong." and parts.signature == footer, footer
    # The words inside a sentence are the person's.
    text = "Since the update, everything sent from my iPhone arrives twice.\n"
    assert "arrives twice" in extract(text).text


def test_arabic_sign_off_and_dutch_disclaimer_end_the_words():
    parts = extract("الطابعة لا تطبع منذ الصباح.\n\nمع التحية،\nعمر حداد\nمدير تقنية المعلومات\n"
                    "هاتف: +962 6 123 4567\n")
    assert parts.text == "الطابعة لا تطبع منذ الصباح." and "هاتف" in parts.signature
    body = ("Donderdag schikt ons prima.\n\nMet vriendelijke groet,\n\nRob van Dam\nProjectleider\n"
            "T 078 123 4567\n\nDit e-mailbericht is uitsluitend bestemd voor de geadresseerde(n). "
            "Verstrekking aan en gebruik\ndoor anderen is niet toegestaan. Indien u niet de geadresseerde "
            "bent, wordt u verzocht de afzender\nhiervan op de hoogte te stellen en het bericht te verwijderen.\n")
    parts = extract(body)
    assert parts.text == "Donderdag schikt ons prima." and "uitsluitend bestemd" in parts.signature
    # "de geadresseerde" in a question about a parcel is the person's.
    assert "geadresseerde heeft niets ontvangen" in extract(
        "Mijn pakket is afgeleverd, maar de geadresseerde heeft niets ontvangen.\n\nGroet,\nJan\n").text


def test_a_postal_address_ending_in_its_house_number_is_a_signature_line():
    body = ("Kérem, vegyenek fel egy új felhasználót.\n\nÜdvözlettel:\n\nNagy Péter\nrendszergazda\n"
            "Példa Kft.\n1117 Budapest, Október huszonharmadika u. 8.\nTel.: +36 1 234 5678\n")
    parts = extract(body)
    assert parts.text == "Kérem, vegyenek fel egy új felhasználót." and "1117 Budapest" in parts.signature
    assert not _sentence("1117 Budapest, Október huszonharmadika u. 8.")
    assert _sentence("The parcel went to 1117 Budapest, but it came back on day 8.")


def test_vs_over_a_finnish_or_hungarian_outlook_header_is_a_reply():
    header = {"fi": "Lähettäjä: Tuki <tuki@example.fi>\nLähetetty: tiistai 4. maaliskuuta 2025 10.12\n"
                    "Vastaanottaja: Sanna <sanna@example.fi>\nAihe: Tunnus\n",
              "hu": "Feladó: Ügyfélszolgálat <info@example.hu>\nElküldve: 2025. március 4. 10:12\n"
                    "Címzett: Péter <peter@example.hu>\nTárgy: Jelszó\n",
              "no": "Fra: Kundeservice <kunde@example.no>\nSendt: tirsdag 4. mars 2025 10:12\n"
                    "Til: Ola <ola@example.no>\nEmne: Passord\n"}
    for lang, block in header.items():
        body = f"Kyllä, tunnuksen saa poistaa.\n\n{block}\nVoiko tunnuksen poistaa?\n"
        parts = extract(body, subject="VS: Tunnus")
        if lang == "no":      # Norwegian and Danish "VS:" forwards: the forwarded mail is content
            assert "Voiko tunnuksen poistaa?" in parts.text
        else:
            assert parts.text == "Kyllä, tunnuksen saa poistaa.", lang
        # Outlook's HTML: the header under its quote marker (a rule, divRplyFwdMsg).
        html = ("<div>Kyllä, tunnuksen saa poistaa.</div><hr><div id=\"divRplyFwdMsg\">"
                + "<br>".join(block.strip().split("\n")) + "</div><div>Voiko tunnuksen poistaa?</div>")
        parts = extract(html=html, subject="VS: Tunnus")
        assert ("Voiko tunnuksen poistaa?" in parts.text) == (lang == "no"), lang


def test_an_attribution_wrapped_at_its_address_heads_the_quote():
    body = ("Yönetici olarak çalıştırdım, hata kodu aynı.\n\nMurat Kaya\n\n"
            "Müşteri Hizmetleri Örnek Teknoloji A.Ş. <\nmusteri@ornek.example.com.tr>, 4 Mar 2025 Sal, 10:12\n"
            "tarihinde şunu yazdı:\n\n> Merhaba,\n> kurulum dosyasını yönetici olarak çalıştırın.\n")
    parts = extract(body, subject="Ynt: Kurulum hatası", sender="murat.kaya@example.com.tr")
    assert parts.text == "Yönetici olarak çalıştırdım, hata kodu aynı." and parts.signature == "Murat Kaya"
    assert "Müşteri Hizmetleri Örnek Teknoloji A.Ş. <" in parts.quoted   # not a signature's line
    assert "Müşteri" not in parts.signature


def test_what_the_person_quotes_or_shows_in_their_own_words_stays_theirs():
    # "your colleague Fiona wrote:" is prose: a client's attribution has no "your".
    body = ('Hello,\n\nOn 12 February your colleague Fiona wrote:\n"We will refund EUR 48.00 within 5 days."\n'
            "It has now been three weeks. Could you look into it?\n\nRegards,\nBen Walsh\n")
    assert "Could you look into it?" in extract(body).text
    # A device's line the person announces is their example.
    body = ("every email your portal sends ends with this line:\n\nSent from my iPhone\n\n"
            "but I send them from my laptop. How can I remove it?\n\nThanks,\nNoah\n")
    assert "How can I remove it?" in extract(body).text
    # A message's source with its transport's fields is shown, not quoted.
    body = ("Ihre Rechnungsmails landen im Spam. Hier der Kopf einer solchen Mail:\n\n"
            "Received: from mail.rechnung.example.com (mail.rechnung.example.com [203.0.113.25])\n"
            "From: Rechnungsversand <noreply@rechnung.example.com>\nTo: it@praxis.example.de\n"
            "Subject: Ihre Rechnung 2025-02-1187\nDate: Tue, 4 Mar 2025 06:00:12 +0100\n"
            "Authentication-Results: mx.praxis.example.de; spf=fail\n\n"
            "Der SPF-Eintrag passt nicht. Können Sie das prüfen?\n\nGruß\nJonas\n")
    assert "Können Sie das prüfen?" in extract(body).text
    # An Outlook header under the words is still history, with or without a colon above it.
    body = ("Please see below:\n\nFrom: Support <support@example.com>\nSent: Tuesday, March 4, 2025 10:12 AM\n"
            "To: Ben <ben@example.ie>\nSubject: Refund\n\nWe will refund the difference.\n")
    assert "We will refund the difference." not in extract(body).text


def test_the_reviews_traps_for_probe_35s_rules_stay_the_persons():
    def text(body, **kw):
        return extract(body, **kw).text
    # Device words in the person's sentences (review 35).
    assert "kontrol eder misiniz" in text("Merhaba,\n\nFatura telefonumdan gönderildi.\n\n"
                                          "Ama sistemde görünmüyor, kontrol eder misiniz?\n\nAyşe\n")
    assert "δεν λειτουργεί" in text("Παρήγγειλα ένα κινητό.\nΣτάλθηκε από το κατάστημα Samsung\n"
                                    "αλλά ο κωδικός δεν λειτουργεί.\n")
    for body in ("How do I remove the phrase\nSent from my iPhone\nfrom the end of my mails?\n",
                 "Na stronie widzę przycisk\nPobierz aplikację Outlook dla systemu Android\n"
                 "ale po kliknięciu nic się nie dzieje.\n"):
        assert body.split("\n")[2] in text(body)
    # A greeting, a P.S. and prose in Arabic and Dutch.
    assert "هل تم شحنه" in text("السلام عليكم\nتحياتي،\nأود الاستفسار عن الطلب 4411\nهل تم شحنه؟\n")
    assert "هل يمكن التوصيل يوم السبت" in text("مرحبا،\n\nطلبت المنتج قبل أسبوعين.\n\nمع التحية\nأحمد\n\n"
                                               "ملاحظة: هل يمكن التوصيل يوم السبت؟\n")
    parts = extract("Hallo,\n\nVolgens jullie website is de korting uitsluitend bestemd voor nieuwe klanten. "
                    "Geldt die ook voor mij?\n\nMet vriendelijke groet,\nSanne Bakker\n")
    assert "uitsluitend bestemd voor nieuwe klanten" in parts.text and "Sanne Bakker" in parts.signature
    # An address the person announces under their name, and order lines, are theirs.
    assert "1117 Budapest" in text("Kérem, küldjék az új címemre.\n\nÜdvözlettel,\nNagy Anna\n\n"
                                   "Új szállítási cím:\n1117 Budapest, Október huszonharmadika u. 8.\n")
    assert "5000 units, delivery week 12." in text("Hi Anna,\n\nThanks!\n\nOrder details:\n"
                                                  "5000 units, delivery week 12.\n2500 boxes, delivery week 14.\n\nTom\n")
    # Prose wrapped at an address: lower-case words before the name.
    assert "Ama param hâlâ gelmedi" in text("Merhaba,\n\nGeçen hafta temsilciniz Ayşe Kaya <\nayse@acme.com.tr> "
                                            "4 Mart 2025 saat 10:15'te\nbana şunu yazdı:\n\nİadeniz onaylandı.\n\n"
                                            "Ama param hâlâ gelmedi.\n")
    # Review 35b: a note ending in a colon over a device's line, a signature and history.
    body = ("Here are the details below:\n\nSent from my iPhone\nAnna Berg\nOffice Manager\n+46 8 123 45 67\n\n"
            "On Tue, Mar 4, 2025 at 10:12 AM Support <support@example.com> wrote:\n> Which order is it?\n")
    parts = extract(body, subject="Re: Order")
    assert parts.text == "Here are the details below:" and "Which order" not in parts.text
    # A gateway's X- line in a quoted Outlook header does not make it a pasted source.
    body = ("See below:\nFrom: Support <support@example.com>\nSent: Tuesday, March 4, 2025 10:12 AM\n"
            "To: Ben <ben@example.ie>\nSubject: Refund\nX-Priority: 3\n\nWe will refund the difference.\n")
    assert "We will refund the difference." not in text(body, subject="Re: Refund")



def test_alternatives_grouped_by_first_letter_match_as_the_plain_alternation():
    """patterns.by_first_letter is only a faster spelling: VERB and the disclaimer words find
    the same matches, at the same places, as their alternatives written one after another."""
    plain = {P.VERB: re.compile(r"(?:\b(?:%s)(?![\w(])(?:\(a\))?|(?:%s))" % (P.WROTE, P.WROTE_CJK),
                                re.IGNORECASE),
             L.DISCLAIMER: re.compile(L.DISCLAIMER_WORDS, re.IGNORECASE)}
    words = [w.replace("\\s+", " ").replace("\\(", "(").replace("\\)", ")")
             for w in re.split(r"\|(?![^()]*\))", P.WROTE + "|" + L.DISCLAIMER_WORDS)]
    rng = random.Random(21)
    gaps = Path(__file__).resolve().parent / "data" / "replies" / "gaps.jsonl"
    lines = [line for row in gaps.read_text(encoding="utf-8").splitlines() if row
             for line in json.loads(row)["input"].splitlines()]
    for _ in range(5000):     # the words run together, cut, in capitals, after word characters
        line = "".join(rng.choice(words + [" ", "x", "(a)", ":", "_", "é"]) for _ in range(8))
        lines.append(line.upper() if rng.random() < 0.3 else line[rng.randint(0, 3):])
    assert len(lines) > 20_000
    for fast, slow in plain.items():
        for line in lines:
            assert [m.span() for m in fast.finditer(line)] == \
                [m.span() for m in slow.finditer(line)], line
