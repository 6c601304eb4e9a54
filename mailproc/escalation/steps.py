"""A fired step: what the sweep did, and the claim that makes each step fire once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailproc.models import Escalation


@dataclass(frozen=True)
class SweepAction:
    case_ref: str
    action: str         # escalated | reminder | auto_resolved
    step: str
    breach_key: str
    to: tuple[str, ...] = ()
    detail: str = ""


def claim_step(session: Session, case_id: int, step: str, breach_key: str,
               now: datetime) -> Escalation | None:
    """Insert the (case, step, breach) row; None when another sweep (or an earlier run) has it."""
    if session.scalar(select(Escalation.id).where(
            Escalation.case_id == case_id, Escalation.step == step,
            Escalation.breach_key == breach_key)) is not None:
        return None
    row = Escalation(case_id=case_id, step=step, breach_key=breach_key, fired_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row
