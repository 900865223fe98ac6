"""The policy's `watch:` section: the limits `lapse watch` holds the controls to, and the
maintenance windows that silence one control between two dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """`control` is silenced from `starts` until `ends`; `line`/`col` locate the entry."""

    control: str
    starts: datetime
    ends: datetime
    reason: str
    line: int = 0
    col: int = 0

    def covers(self, control: str, moment: datetime) -> bool:
        return control == self.control and self.starts <= moment < self.ends


@dataclass(frozen=True, slots=True)
class WatchPolicy:
    tolerance: timedelta = timedelta(minutes=30)  # beyond each schedule (GitHub delays runs)
    unapplied_limit: timedelta = timedelta(hours=2)  # merged to main, not yet applied
    expire_pull_limit: timedelta = timedelta(hours=24)
    review_pull_limit: timedelta = timedelta(days=7)
    incident_response: timedelta = timedelta(hours=24)
    cannot_tell_limit: timedelta = timedelta(hours=6)  # then an incident issue is opened
    audit_log_age: timedelta = timedelta(hours=2)  # of the newest entry in the sink's dataset
    recertification_age: timedelta = timedelta(days=183)
    max_maintenance: timedelta = timedelta(days=7)
    audit_sink: str = ""  # projects/P/sinks/NAME (or folders/, organizations/); "" not named
    maintenance: tuple[MaintenanceWindow, ...] = ()

    def window_for(self, control: str, moment: datetime) -> MaintenanceWindow | None:
        return next((w for w in self.maintenance if w.covers(control, moment)), None)
