"""Ending (discharge) rules: data you store in a plan, and :func:`evaluate`.

Each rule is a frozen value (goals met, session limit, non-attendance, inactivity,
time limit, client request, sustained recovery, plateau, reliable deterioration,
authorisation used), composable with :class:`AnyOf` and :class:`AllOf`;
:func:`evaluate` gives a :class:`Verdict` as of any time.
"""

from ._evaluation import Verdict, evaluate
from ._rules import (
    MAX_RULE_DEPTH,
    AllOf,
    AnyOf,
    AuthorisationUsed,
    ClientRequest,
    ConsecutiveMissed,
    GoalsMet,
    Inactivity,
    MissedInWindow,
    MissedWithinDays,
    Plateau,
    ReliableDeterioration,
    Rule,
    RuleAction,
    SessionLimit,
    SustainedRecovery,
    TimeLimit,
)

__all__ = [
    "MAX_RULE_DEPTH",
    "AllOf",
    "AnyOf",
    "AuthorisationUsed",
    "ClientRequest",
    "ConsecutiveMissed",
    "GoalsMet",
    "Inactivity",
    "MissedInWindow",
    "MissedWithinDays",
    "Plateau",
    "ReliableDeterioration",
    "Rule",
    "RuleAction",
    "SessionLimit",
    "SustainedRecovery",
    "TimeLimit",
    "Verdict",
    "evaluate",
]
