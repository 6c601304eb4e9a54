"""Which team and agent a new case goes to: pure, with the rule and reason."""

from __future__ import annotations

from dataclasses import dataclass

from mailproc.people.agents import AgentDirectory


@dataclass(frozen=True)
class Assignment:
    team: str
    assignee: str                 # agent name, "" for none
    rule: str
    reason: str


def route_team(directory: AgentDirectory, default_team: str, sender: str, subject: str,
               text: str) -> tuple[str, str]:
    """(team, reason): the first team whose route matches, else the mailbox's team."""
    for team in directory.teams.values():
        reason = team.route.matches(sender, subject, text)
        if reason:
            return team.name, f"routed to {team.name}: {reason}"
    return default_team, f"mailbox team {default_team or '(none)'}"


def choose_assignee(directory: AgentDirectory, team_name: str, sender: str, subject: str,
                    text: str, last_assignee: str | None) -> Assignment:
    """Assign by the team's rules, then round-robin after `last_assignee`, else nobody."""
    team = directory.team(team_name)
    for rule in team.assign_rules:
        reason = rule.match.matches(sender, subject, text)
        agent = directory.find(rule.agent)
        if reason and agent is not None:
            return Assignment(team_name, agent.name, "rule", f"rule for {agent.key}: {reason}")
    members = directory.members(team_name)
    if team.assignment == "round_robin" and members:
        names = [m.name for m in members]
        nxt = (names.index(last_assignee) + 1) % len(names) if last_assignee in names else 0
        return Assignment(team_name, names[nxt], "round_robin",
                          f"round-robin in {team_name} after {last_assignee or 'nobody'}")
    return Assignment(team_name, "", "none", f"team {team_name or '(none)'} assigns nobody")
