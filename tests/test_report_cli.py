"""`mailproc report` end to end on the embedded default: every format, its options, its errors."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.browser import dom
from tests.test_cli import embedded, invoke  # noqa: F401 - the fixture is used by name

DAY = "2026-11-23"


@pytest.fixture
def demo(embedded):  # noqa: F811
    result = invoke(embedded, "run", "--once", "--now", "2026-11-23T14:30:00+01:00")
    assert result.exit_code == 0, result.output
    return embedded


def test_json_counts_the_demo_mailbox(demo):
    result = invoke(demo, "report", "--since", DAY, "--until", DAY, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["period"] == {"since": DAY, "until": DAY, "timezone": "Europe/Berlin", "days": 1}
    assert data["previous"] == {"since": "2026-11-22", "until": "2026-11-22"}
    volume = data["current"]["volume"]
    assert volume["new_cases"] == 9 and sum(volume["cases_by_priority"].values()) == 9
    assert data["before"]["volume"]["new_cases"] == 0
    assert volume["cases_by_day"] == {DAY: 9}
    # 14:30 Berlin on a Monday: every customer message in that hour of the week
    assert volume["heatmap"][0][14] == volume["customer_messages"]


def test_table_csv_and_html(demo, tmp_path):
    table = invoke(demo, "report", "--since", DAY, "--until", DAY)
    assert table.exit_code == 0
    assert table.output.startswith(f"Support report {DAY} to {DAY} (1 days, Europe/Berlin)")
    assert "SLA attainment" in table.output and "new cases" in table.output
    rows = list(csv.reader(io.StringIO(invoke(demo, "report", "--since", DAY, "--until", DAY,
                                              "--format", "csv").output)))
    assert ["Summary", "new cases", "9", "0", "+9"] in rows
    out = tmp_path / "report.html"
    result = invoke(demo, "report", "--since", DAY, "--until", DAY, "--format", "html",
                    "--out", str(out))
    assert result.exit_code == 0 and out.exists()
    shown = dom(out)
    assert "Support report" in shown and "<svg" in shown


def test_team_filter_and_no_topics(demo):
    data = json.loads(invoke(demo, "report", "--since", DAY, "--until", DAY, "--team",
                             "nobody", "--no-topics", "--format", "json").output)
    assert data["team"] == "nobody" and data["current"]["volume"]["new_cases"] == 0
    assert "topics" not in data


def test_a_period_that_ends_before_it_starts_is_refused(demo):
    result = invoke(demo, "report", "--since", "2026-11-24", "--until", DAY)
    assert result.exit_code == 2
    assert "is after --until" in result.output


def test_help_names_every_option(demo):
    text = invoke(demo, "report", "--help").output
    for option in ("--since", "--until", "--team", "--format", "--out", "--no-topics"):
        assert option in text


def test_a_customers_subject_cannot_become_a_spreadsheet_formula():
    from mailproc.cli.report import _cell

    assert _cell('=HYPERLINK("http://evil.example","x")').startswith("'=")
    assert _cell("@SUM(A1)").startswith("'@") and _cell("-cmd|x").startswith("'-")
    assert _cell("+9 (+50%)") == "+9 (+50%)" and _cell(3) == 3 and _cell(None) == ""
