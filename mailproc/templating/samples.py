"""Realistic sample contexts per mail kind, with every documented variable, for check and preview."""

from __future__ import annotations

from copy import deepcopy

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.errors import MailprocError
from mailproc.models import Case, Message
from mailproc.templating.context import case_context, history

_BASE = {
    "language": "en",
    "case": {
        "ref": "1042",
        "subject": "VPN drops every few minutes since the update",
        "status": "new",
        "priority": "normal",
        "team": "helpdesk",
        "assignee": "Jonas Weber", "answered": True,
        "created_at_local": "2026-11-23 14:05 CET",
        "url": "https://help.example.com/cases/1042",
    },
    "customer": {"name": "Maria Keller", "email": "maria.keller@kunde.example"},
    "support": {
        "name": "Example Support",
        "address": "support@example.com",
        "fallback_phone": "+49 30 1234 5678",
        "hours": "Mon–Thu 08:00–12:00 and 13:00–17:00; Fri 08:00–15:00 CET/CEST, "
                 "closed on public holidays (DE-BE)",
        "urgent_hint": "If your work is blocked right now, reply with URGENT in the subject "
                       "or call us.",
    },
    "sla": {
        "first_response_at": "Tuesday 24 November, 10:00 CET",
        "first_response_words": "within 4 business hours",
        "resolution_at": "Thursday 26 November, 14:05 CET",
        "resolution_words": "within 3 business days",
    },
    "message": {
        "subject": "VPN drops every few minutes since the update",
        "new_text": "Hello,\n\nsince this morning's update my VPN connection drops every "
                    "three to five minutes. I have restarted the laptop twice and switched "
                    "from Wi-Fi to cable, with no change. The client shows error 809 before "
                    "it disconnects.\n\nThe log file is attached.\n\nThanks,\nMaria",
        "from_name": "Maria Keller",
        "from_addr": "maria.keller@kunde.example",
        "attachments": [{"filename": "vpnclient.log", "size": 48213, "forwarded": True},
                        {"filename": "screenshot.png", "size": 302114, "forwarded": True},
                        {"filename": "screen-recording.mp4", "size": 48_600_000,
                         "forwarded": False}],
    },
    "kb_suggestions": [
        {"title": "VPN disconnects with error 809",
         "excerpt": "Error 809 means the VPN server did not answer. This usually happens when "
                    "a router or firewall blocks the IPsec ports (UDP 500 and 4500). Check "
                    "that your home router has IPsec passthrough switched on, then reconnect.",
         "url": "https://help.example.com/kb/vpn-error-809"},
        {"title": "Reinstalling the VPN client after a Windows update",
         "excerpt": "Some Windows updates replace the network driver the VPN client relies "
                    "on. Uninstall the client, restart, and install the current version.",
         "url": "https://help.example.com/kb/vpn-reinstall"},
    ],
    "agent": {"name": "Jonas Weber", "email": "jonas.weber@example.com"},
    "reply_text": "Hi Maria,\n\nthanks for the log. Your router blocks UDP port 4500, which the "
                  "VPN needs since the update. Please switch on \"IPsec passthrough\" in the "
                  "router settings (under Security > VPN) and reconnect.\n\nIf the option is "
                  "missing, send me the router model and I will find the setting for you.\n\n"
                  "Best regards,\nJonas",
    "error": {"line": 2, "message": "unknown command #asign (did you mean #assign?)"},
    "escalation": {
        "step": 2,
        "reason": "no first response 2 hours after the deadline",
        "people": [
            {"name": "Petra Schulz", "role": "team lead helpdesk", "phone": "+49 30 1234 5690",
             "email": "petra.schulz@example.com"},
            {"name": "On-call engineer", "role": "on-call", "phone": "+49 170 5550123",
             "email": "oncall@example.com"},
        ],
        "recipient": {"agent": True, "note": False, "reply_to": ""},
    },
    "history": [
        {"at": "2026-11-23 13:05 UTC", "actor": "maria.keller@kunde.example",
         "kind": "created", "detail": "new case from mail"},
        {"at": "2026-11-23 13:05 UTC", "actor": "mailproc", "kind": "ack_queued",
         "detail": "acknowledgement to maria.keller@kunde.example queued"},
        {"at": "2026-11-23 15:40 UTC", "actor": "mailproc", "kind": "assigned",
         "detail": "assigned to Jonas Weber"},
    ],
    "incident": {
        "id": "INC-7",
        "title": "VPN gateway unstable after the 23 November update",
        "message": "Our VPN gateway drops connections since the update on 23 November. "
                   "Engineers are rolling the update back; we expect normal service by "
                   "16:00 CET.",
    },
    "notification": {"reason": "new_case", "reason_text": "new case", "heading": "New case",
                     "subject": "New case"},
    "directory": [
        {"name": "Support hotline", "role": "first level", "phone": "+49 30 1234 5678"},
        {"name": "Petra Schulz", "role": "team lead helpdesk", "phone": "+49 30 1234 5690"},
        {"name": "NetCarrier NOC", "role": "vendor: internet uplink", "phone": "+49 69 9876 5400"},
    ],
}

# What every kind gets (mailproc.templating.context.case_context), then each kind's extras.
_COMMON = ("language", "case", "customer", "support", "sla", "message", "kb_suggestions")
_EXTRAS = {
    "ack": (),
    "incident": ("incident",),
    "agent_notify": ("history", "notification"),
    "relay": ("agent", "reply_text"),
    "agent_error": ("agent", "error"),
    "escalation": ("escalation", "history", "directory"),
    "reminder": (),
    "auto_resolved": (),
    "incident_update": ("incident",),
}
_CHANGES = {
    "relay": {"case": {"status": "open"}},
    "agent_error": {"case": {"status": "open"}, "message": {
        "subject": "RE: [#1042] VPN drops every few minutes since the update",
        "new_text": "#priority high\n#asign petra\n\nHi Maria,\n\nthanks for the log, I am "
                    "looking into it now.\n\nJonas",
        "from_name": "Jonas Weber", "from_addr": "jonas.weber@example.com", "attachments": []}},
    "escalation": {"case": {"status": "open", "priority": "high"}},
    "reminder": {"case": {"status": "pending"}},
    "auto_resolved": {"case": {"status": "resolved"}},
    "incident_update": {"incident": {
        "message": "The rollback is complete and VPN connections are stable again. If your "
                   "connection still drops, reconnect once; if that does not help, reply to "
                   "this mail."}},
}


def _sample(kind: str) -> dict:
    context = {key: deepcopy(_BASE[key]) for key in _COMMON + _EXTRAS[kind]}
    for key, change in _CHANGES.get(kind, {}).items():
        context[key].update(change)
    return context


# Each kind sees exactly the variables the pipeline passes it (templates/README.md).
SAMPLES: dict[str, dict] = {kind: _sample(kind) for kind in _EXTRAS}
# Which kinds see which top-level variable, for the docs and their test.
KIND_VARIABLES: dict[str, tuple[str, ...]] = {kind: _COMMON + extra for kind, extra in _EXTRAS.items()}

# Language-dependent words, as mailproc.sla.wording writes them, for previews in that language.
_LOCALIZED = {
    "de": {
        "support": {
            "hours": "Mo–Do 08:00–12:00 und 13:00–17:00; Fr 08:00–15:00 MEZ/MESZ, an Feiertagen "
                     "(DE-BE) geschlossen",
            "urgent_hint": "Wenn Sie gerade nicht weiterarbeiten können, schreiben Sie DRINGEND "
                           "in den Betreff oder rufen Sie uns an.",
        },
        "sla": {
            "first_response_at": "Dienstag, 24. November, 10:00 MEZ",
            "first_response_words": "innerhalb von 4 Geschäftsstunden",
            "resolution_at": "Donnerstag, 26. November, 14:05 MEZ",
            "resolution_words": "innerhalb von 3 Geschäftstagen",
        },
    },
}


def sample_context(kind: str, language: str = "en") -> dict:
    """A fresh copy of the sample for `kind`, with language-dependent words in `language`."""
    context = deepcopy(SAMPLES[kind])
    context["language"] = language
    for key, change in _LOCALIZED.get(language, {}).items():
        context[key].update(change)
    return context


def context_for_case(app, session: Session, case_ref: str, kind: str) -> dict:
    """Context for `mailproc templates preview KIND --case REF`."""
    case = session.scalar(select(Case).where(Case.ref == case_ref.lstrip("#")))
    if case is None:
        raise MailprocError(f"no case with reference #{case_ref.lstrip('#')}")
    first = session.scalar(select(Message).where(Message.case_id == case.id)
                           .order_by(Message.id).limit(1))
    context = dict(SAMPLES.get(kind, {}))
    context.update(case_context(app, session, case, first))
    context["history"] = history(session, case)
    return context
