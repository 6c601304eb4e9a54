"""What a `#` command sees and what it may change; shared by the command modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from mailproc.models import Case, Message
from mailproc.people.agents import Agent, AgentDirectory


@dataclass
class CommandContext:
    app: object
    session: Session
    case: Case
    message: Message
    agent: Agent
    directory: AgentDirectory
    now: datetime
    # Filled in by commands as they run:
    internal: bool = False                  # #note: relay nothing to customers
    extra_text: list[str] = field(default_factory=list)   # #kb: article text to send
    notify_assignee: str = ""               # #assign: tell the new assignee

    @property
    def actor(self) -> str:
        return self.agent.email


@dataclass(frozen=True)
class CommandError:
    line_no: int
    line: str
    message: str
