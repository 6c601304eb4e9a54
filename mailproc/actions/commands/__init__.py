"""Agent `#` commands: one module per command; validate all, then run all, in order."""

from __future__ import annotations

import difflib
import logging

from mailproc.actions.commands import assign, escalate, kb, merge, note, priority, status
from mailproc.actions.commands.context import CommandContext, CommandError
from mailproc.actions.commands.parse import CommandLine, ParsedReply, parse_commands

log = logging.getLogger(__name__)

# Order is irrelevant here: commands run in the order the agent wrote them.
COMMANDS = {m.NAME: m for m in (note, status, assign, priority, kb, escalate, merge)}

__all__ = ["COMMANDS", "CommandContext", "CommandError", "CommandLine", "ParsedReply",
           "parse_commands", "check_commands", "run_commands"]


def check_commands(commands: tuple[CommandLine, ...], ctx: CommandContext) -> list[CommandError]:
    """Every problem, each naming its line; an empty list means all may run."""
    errors = []
    for cmd in commands:
        module = COMMANDS.get(cmd.name)
        if module is None:
            close = difflib.get_close_matches(cmd.name, list(COMMANDS), n=1)
            hint = f" (did you mean #{close[0]}?)" if close else ""
            known = ", ".join(m.USAGE for m in COMMANDS.values())
            errors.append(CommandError(cmd.line_no, cmd.line,
                                       f"unknown command #{cmd.name}{hint}; known: {known}"))
            continue
        problem = module.validate(cmd.args, ctx)
        if problem:
            errors.append(CommandError(cmd.line_no, cmd.line, f"{problem} (usage: {module.USAGE})"))
    return errors


def run_commands(commands: tuple[CommandLine, ...], ctx: CommandContext) -> None:
    """Run commands already checked by check_commands; each records its own event."""
    for cmd in commands:
        log.info("case %s: %s runs %s", ctx.case.ref, ctx.agent.key, cmd.line)
        COMMANDS[cmd.name].execute(cmd.args, ctx)
