"""Readable terminal tables and JSON output for every command."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Sequence

import click


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value).replace("\n", " ")


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], *, max_width: int = 48) -> str:
    """A plain aligned table: headers, a rule, one line per row; long cells are shortened."""
    cells = [[_cell(v) for v in row] for row in rows]
    cells = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in row] for row in cells]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))


def echo_refused(problems: dict[str, list[tuple[int, str]]], as_json: bool) -> None:
    """The problems of a refused import, `name:line: message` (or JSON), and that nothing was
    saved."""
    if as_json:
        echo_json({"refused": {name: [{"line": line, "message": message} for line, message in found]
                               for name, found in problems.items()}})
        return
    for name, found in problems.items():
        for line, message in found:
            click.echo(f"{name}:{line}: {message}")
    click.echo("nothing imported: fix these first", err=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
