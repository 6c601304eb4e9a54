"""The phone list as a terminal table, CSV for a spreadsheet, a printable HTML page, or JSON."""

from __future__ import annotations

import csv
import html
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Sequence

from mailproc.fallback.phone_list import PhoneEntry

COLUMNS = ("status", "priority", "case", "name", "phone", "waited", "reason", "tell")


def _row(e: PhoneEntry) -> list[str]:
    d = e.as_dict()
    status = e.status + (f" ({e.note})" if e.note else "")
    return [status, e.priority, f"#{e.case_ref}", e.name, ", ".join(e.phones) or "(no number)",
            d["waited"], e.reason, e.tell]


def as_table(entries: Sequence[PhoneEntry], directory: Sequence[dict], now: datetime,
             width: int = 60) -> str:
    def fit(value: str) -> str:
        value = value.replace("\n", " ")
        return value if len(value) <= width else value[: width - 1] + "…"

    rows = [[fit(c) for c in _row(e)] for e in entries]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(COLUMNS)]
    lines = [f"Phone list at {now:%Y-%m-%d %H:%M} UTC: "
             f"{sum(e.status == 'to call' for e in entries)} to call", ""]
    lines.append("  ".join(h.ljust(w) for h, w in zip(COLUMNS, widths)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if not rows:
        lines.append("(nobody to call)")
    lines += ["", "Directory"]
    for d in directory:
        lines.append(f"  {d['name']:<28} {d['phone'] or '-':<16} {d.get('role', '')}")
    return "\n".join(lines)


def as_csv(entries: Sequence[PhoneEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["status", "note", "priority", "case_ref", "name", "email", "phones",
                     "waiting_since", "waited_hours", "reason", "tell"])
    for e in entries:
        d = e.as_dict()
        writer.writerow([e.status, e.note, e.priority, e.case_ref, e.name, e.email,
                         " ".join(e.phones), d["waiting_since"], d["waited_hours"], e.reason,
                         e.tell])
    return out.getvalue()


def as_json(entries: Sequence[PhoneEntry], directory: Sequence[dict], now: datetime) -> str:
    return json.dumps({"at": now.isoformat(), "entries": [e.as_dict() for e in entries],
                       "directory": list(directory)}, indent=2, ensure_ascii=False)


_STYLE = """body{font-family:sans-serif;font-size:11pt;margin:1.5em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:4px;vertical-align:top}
th{background:#eee;text-align:left}.urgent td{font-weight:bold}.done td{color:#777}
td.tell{font-size:9.5pt;max-width:28em}.box{display:inline-block;width:1em;height:1em;border:1px solid #000}
@media print{body{margin:0}h1{font-size:14pt}}"""


def as_html(entries: Sequence[PhoneEntry], directory: Sequence[dict], now: datetime,
            title: str) -> str:
    e_ = html.escape
    rows = []
    for e in entries:
        cls = "done" if e.status != "to call" else ("urgent" if e.priority == "urgent" else "")
        phones = "<br>".join(f'<a href="tel:{e_(p)}">{e_(p)}</a>' for p in e.phones) \
            or "(no number)"
        rows.append(
            f'<tr class="{cls}"><td><span class="box"></span> {e_(e.status)}'
            f'{"<br>" + e_(e.note) if e.note else ""}</td><td>{e_(e.priority)}</td>'
            f"<td>#{e_(e.case_ref)}<br>{e_(e.subject)}</td><td>{e_(e.name)}<br>{e_(e.email)}</td>"
            f"<td>{phones}</td><td>{e_(e.as_dict()['waited'])}</td><td>{e_(e.reason)}</td>"
            f'<td class="tell">{e_(e.tell)}</td></tr>')
    people = "".join(f"<tr><td>{e_(d['name'])}</td><td>{e_(d.get('role', ''))}</td>"
                     f"<td>{e_(d['phone'] or '-')}</td><td>{e_(d.get('email', ''))}</td></tr>"
                     for d in directory)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{e_(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{e_(title)}</h1><p>Made {now:%Y-%m-%d %H:%M} UTC. "
            f"{sum(e.status == 'to call' for e in entries)} customers to call, most urgent first. "
            f"Tick the box and run <code>mailproc phone-list done REF --note …</code> after each "
            f"call.</p><table><tr><th>done</th><th>priority</th><th>case</th><th>customer</th>"
            f"<th>phone</th><th>waited</th><th>why</th><th>tell them</th></tr>{''.join(rows)}"
            f"</table><h2>Directory</h2><table><tr><th>name</th><th>role</th><th>phone</th>"
            f"<th>email</th></tr>{people}</table></body></html>\n")


def write_html(var: Path, text: str, now: datetime) -> Path:
    """var/phone-list-<time>.html, and var/phone-list.html pointing at the newest."""
    path = var / f"phone-list-{now:%Y%m%d-%H%M%S}.html"
    path.write_text(text, encoding="utf-8")
    (var / "phone-list.html").write_text(text, encoding="utf-8")
    return path
