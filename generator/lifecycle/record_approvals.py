"""archive/ and reports/ changes that reached main, judged again before anything relies on them.

The pull request's check (`lapse validate`, LAPSE150 and LAPSE151) refuses every change to
the records but the move `lapse expire` and `lapse withdraw` make and new reports. What reaches
main anyway (an administrator's merge, a protection rule that was off, a rebase merge) is judged
commit by commit on main's first-parent line: a commit whose record changes are not lapse's is
accepted only when the pull request that merged it was approved on its final head by a security
owner. A record's own code owners (a target's approvers, its on-call) never suffice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.core.model import Policy, Problem
from generator.github.approvals import ReviewSource
from generator.github.plan_approvals import PullApproval, security_approval


@dataclass(frozen=True, slots=True)
class RecordVerdict:
    """One commit on main that changed the records other than as lapse does."""

    commit: str
    problems: tuple[Problem, ...]
    approval: PullApproval

    @property
    def ok(self) -> bool:
        return self.approval.ok

    def lines(self) -> list[str]:
        if self.ok:
            pull = f"#{self.approval.pull.number}" if self.approval.pull else "its pull request"
            who = ", ".join(self.approval.approvers)
            return [
                f"verified: {p.path}: {p.message} [{p.rule}]: {pull} approved by the security "
                f"owners ({who})"
                for p in self.problems
            ]
        why = "; ".join(self.approval.reasons)
        return [f"refused: {p.path}: {p.message} [{p.rule}]: {why}" for p in self.problems]

    @property
    def evidence(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "verdict": "verified" if self.ok else "refused",
            "changes": [
                {"path": p.path, "rule": p.rule, "message": p.message} for p in self.problems
            ],
            "approval": self.approval.evidence,
        }


def judge_records(
    found: Mapping[str, Sequence[Problem]],
    policy: Policy,
    github: Callable[[], ReviewSource],
) -> tuple[RecordVerdict, ...]:
    """A verdict per commit in `found` (commit -> its refused record changes); GitHub is asked
    only when there is one."""
    if not found:
        return ()
    client = github()
    return tuple(
        RecordVerdict(commit, tuple(problems), security_approval(client, policy, commit))
        for commit, problems in found.items()
    )
