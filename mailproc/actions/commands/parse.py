"""Split an agent's reply into `#` command lines at the top and the text to relay."""

from __future__ import annotations

import re
from dataclasses import dataclass

# `#name args`; a `#` followed by a digit (#1042) or a space is text, not a command.
_COMMAND = re.compile(r"^\s*#([A-Za-z][A-Za-z0-9_-]*)(?:[ \t]+(.*?))?\s*$")


@dataclass(frozen=True)
class CommandLine:
    name: str        # lower-case, without '#'
    args: str
    line_no: int     # 1-based, in the reply's new text
    line: str        # as written


@dataclass(frozen=True)
class ParsedReply:
    commands: tuple[CommandLine, ...]
    body: str        # what is left to relay: everything after the command block


def parse_commands(text: str) -> ParsedReply:
    """Commands are the lines at the top (blank lines between them allowed); the first other
    line ends the block, so a `#` further down is just text."""
    lines = (text or "").replace("\r\n", "\n").split("\n")
    commands: list[CommandLine] = []
    end = 0
    for i, line in enumerate(lines):
        if not line.strip():
            end = i + 1
            continue
        m = _COMMAND.match(line)
        if not m:
            break
        commands.append(CommandLine(m.group(1).lower(), (m.group(2) or "").strip(), i + 1,
                                    line.strip()))
        end = i + 1
    else:
        end = len(lines)
    body = "\n".join(lines[end:]).strip("\n") if commands else (text or "").strip("\n")
    return ParsedReply(tuple(commands), body)
