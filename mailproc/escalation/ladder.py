"""The escalation ladder from config: triggers, steps, reminders and incident grouping settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mailproc.errors import ConfigError
from mailproc.sla.deadlines import SlaDuration, parse_duration

TRIGGERS = ("first_response", "resolution", "customer_waiting")
WHO = ("assignee", "team", "team_lead", "manager", "oncall")
WHO_PREFIXED = ("person", "vendor")
_STEP_KEYS = {"name", "trigger", "after", "at_fraction", "notify", "template", "reason"}
_TOP_KEYS = {"steps", "customer_waiting_after", "reminders", "incidents", "alerts_every_sweep"}
_REMINDER_KEYS = {"remind_after", "resolve_after", "enabled"}
_INCIDENT_KEYS = {"enabled", "min_cases", "window_minutes", "similarity", "notify"}
ZERO = SlaDuration()


@dataclass(frozen=True)
class Step:
    name: str
    trigger: str
    after: SlaDuration = ZERO          # time after the deadline (on the priority's SLA clock)
    at_fraction: float | None = None   # or: a warning when this share of the window is used
    notify: tuple[str, ...] = ("assignee",)
    template: str = "escalation"
    reason: str = ""

    @property
    def is_warning(self) -> bool:
        return self.at_fraction is not None and self.at_fraction < 1.0


@dataclass(frozen=True)
class Reminders:
    enabled: bool = True
    remind_after: SlaDuration = SlaDuration(days=3)
    resolve_after: SlaDuration = SlaDuration(days=7)


@dataclass(frozen=True)
class IncidentSettings:
    enabled: bool = True
    min_cases: int = 5
    window_minutes: int = 15
    similarity: float = 0.35
    notify: tuple[str, ...] = ("team", "oncall")


@dataclass(frozen=True)
class Ladder:
    steps: tuple[Step, ...] = ()
    customer_waiting_after: SlaDuration = SlaDuration(time=parse_duration("4h").time)
    reminders: Reminders = field(default_factory=Reminders)
    incidents: IncidentSettings = field(default_factory=IncidentSettings)


DEFAULT_STEPS = (
    Step("warning", "first_response", at_fraction=0.75, notify=("assignee",),
         reason="75% of the first-response window is used"),
    Step("overdue", "first_response", notify=("assignee",), reason="first response overdue"),
    Step("team-lead", "first_response", after=parse_duration("1h"), notify=("team_lead",),
         reason="first response overdue by 1 business hour"),
    Step("manager", "first_response", after=parse_duration("4h"), notify=("manager",),
         reason="first response overdue by 4 business hours"),
    Step("resolution-overdue", "resolution", notify=("assignee", "team_lead"),
         reason="resolution overdue"),
    Step("customer-waiting", "customer_waiting", notify=("assignee",),
         reason="the customer replied and nobody answered"),
)


def _duration(value, where: str) -> SlaDuration:
    if isinstance(value, (int, float)) and value == 0 or str(value).strip() in ("0", "0m", "0h"):
        return ZERO
    try:
        return parse_duration(value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _check_who(specs, where: str) -> tuple[str, ...]:
    if isinstance(specs, str):
        specs = [specs]
    if not isinstance(specs, list) or not specs:
        raise ConfigError(f"{where}: expected a list such as [\"assignee\", \"team_lead\"]")
    for i, spec in enumerate(specs):
        kind, _, arg = str(spec).partition(":")
        if not (kind in WHO and not arg or kind in WHO_PREFIXED and arg or "@" in str(spec)):
            raise ConfigError(f"{where}[{i}]: {spec!r} is not one of {', '.join(WHO)}, "
                              f"person:KEY, vendor:KEY or an email address")
    return tuple(str(s) for s in specs)


def _unknown(raw: Mapping, allowed: set[str], where: str) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key; expected one of "
                          f"{', '.join(sorted(allowed))}")


def _step(raw: Mapping, i: int) -> Step:
    where = f"escalation.steps[{i}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a table ([[escalation.steps]])")
    _unknown(raw, _STEP_KEYS, where)
    trigger = raw.get("trigger", "first_response")
    if trigger not in TRIGGERS:
        raise ConfigError(f"{where}.trigger: {trigger!r} is not one of {', '.join(TRIGGERS)}")
    fraction = raw.get("at_fraction")
    if fraction is not None:
        if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
            raise ConfigError(f"{where}.at_fraction: expected a number in (0, 1], e.g. 0.75")
        if "after" in raw:
            raise ConfigError(f"{where}: give either after or at_fraction, not both")
        if trigger == "customer_waiting":
            raise ConfigError(f"{where}.at_fraction: customer_waiting has no window")
    template = raw.get("template", "escalation")
    if not isinstance(template, str) or not template:
        raise ConfigError(f"{where}.template: expected a template kind such as \"escalation\"")
    name = str(raw.get("name") or f"{trigger}-{i}")
    return Step(name=name, trigger=trigger, after=_duration(raw.get("after", "0"), f"{where}.after"),
                at_fraction=float(fraction) if fraction is not None else None,
                notify=_check_who(raw.get("notify", ["assignee"]), f"{where}.notify"),
                template=template, reason=str(raw.get("reason", "")))


def load_ladder(raw: Mapping) -> Ladder:
    """Validate [escalation]; errors name the key, e.g. escalation.steps[0].after."""
    _unknown(raw, _TOP_KEYS, "escalation")
    steps = DEFAULT_STEPS
    if "steps" in raw:
        if not isinstance(raw["steps"], list):
            raise ConfigError("escalation.steps: expected an array of tables ([[escalation.steps]])")
        steps = tuple(_step(s, i) for i, s in enumerate(raw["steps"]))
    names = [s.name for s in steps]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"escalation.steps: two steps are named {name!r}")
    waiting = _duration(raw.get("customer_waiting_after", "4h"), "escalation.customer_waiting_after")
    rem_raw = raw.get("reminders", {})
    _unknown(rem_raw, _REMINDER_KEYS, "escalation.reminders")
    reminders = Reminders(
        enabled=bool(rem_raw.get("enabled", True)),
        remind_after=_duration(rem_raw.get("remind_after", "3d"), "escalation.reminders.remind_after"),
        resolve_after=_duration(rem_raw.get("resolve_after", "7d"),
                                "escalation.reminders.resolve_after"))
    if (reminders.resolve_after.days, reminders.resolve_after.time) <= (
            reminders.remind_after.days, reminders.remind_after.time):
        raise ConfigError("escalation.reminders.resolve_after: must be later than remind_after")
    inc = raw.get("incidents", {})
    _unknown(inc, _INCIDENT_KEYS, "escalation.incidents")
    incidents = IncidentSettings(
        enabled=bool(inc.get("enabled", True)),
        min_cases=_int(inc.get("min_cases", 5), "escalation.incidents.min_cases", 2),
        window_minutes=_int(inc.get("window_minutes", 15), "escalation.incidents.window_minutes", 1),
        similarity=float(inc.get("similarity", 0.35)),
        notify=_check_who(inc.get("notify", ["team", "oncall"]), "escalation.incidents.notify"))
    if not 0 < incidents.similarity <= 1:
        raise ConfigError("escalation.incidents.similarity: expected a number in (0, 1]")
    return Ladder(steps=steps, customer_waiting_after=waiting, reminders=reminders,
                  incidents=incidents)


def _int(value, where: str, minimum: int) -> int:
    if not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: expected a whole number >= {minimum}")
    return value
