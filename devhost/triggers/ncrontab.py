"""NCRONTAB schedules as the timer trigger reads them (``CronSchedule`` in
Azure/azure-webjobs-sdk-extensions, on the NCrontab library): six fields, ``{second} {minute} {hour}
{day} {month} {day-of-week}``, each ``*``, a value, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a
list of those; months and days may be named (``Jan``, ``Mon``), Sunday is 0 (7 too). Five fields (no
seconds) are read with second 0. A time span ("00:05:00", "1.00:00:00") is a constant interval, which
the host also accepts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from devhost.config.errors import DevHostError

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day", 1, 31),
    ("month", 1, 12),
    ("weekday", 0, 7),
)
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")


class ScheduleError(DevHostError):
    """A schedule the timer trigger cannot read."""


def _value(text: str, name: str, schedule: str) -> int:
    lowered = text.lower()
    if name == "month" and lowered[:3] in _MONTHS and not lowered.isdigit():
        return _MONTHS.index(lowered[:3]) + 1
    if name == "weekday" and lowered[:3] in _DAYS and not lowered.isdigit():
        return _DAYS.index(lowered[:3])
    if not text.isdigit():
        raise ScheduleError(f"'{schedule}' is not a valid NCRONTAB expression: bad {name} value '{text}'")
    return int(text)


def _field(text: str, name: str, low: int, high: int, schedule: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = _value(step_text, name, schedule) if step_text else 1
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            start, end = _value(a, name, schedule), _value(b, name, schedule)
        else:
            start = _value(body, name, schedule)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or step < 1 or start > end:
            raise ScheduleError(
                f"'{schedule}' is not a valid NCRONTAB expression: {name} '{part}' out of range"
            )
        values.update(range(start, end + 1, step))
    if name == "weekday" and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


@dataclass(frozen=True)
class Schedule:
    """A timer schedule: the values each field allows, or a constant interval."""

    text: str
    fields: tuple[frozenset[int], ...] | None  # None: an interval
    interval: timedelta | None = None

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment`` (in ``moment``'s time zone)."""
        if self.interval is not None:
            return moment + self.interval
        seconds, minutes, hours, days, months, weekdays = self.fields  # type: ignore[misc]
        t = moment.replace(microsecond=0) + timedelta(seconds=1)
        limit = moment + timedelta(days=366 * 5)
        while t <= limit:
            if t.month not in months:
                t = (t.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
                continue
            # Day and weekday both restrict when both are given, as NCrontab does.
            if t.day not in days or (t.weekday() + 1) % 7 not in weekdays:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if t.hour not in hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if t.minute not in minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
                continue
            if t.second not in seconds:
                t += timedelta(seconds=1)
                continue
            return t
        raise ScheduleError(f"'{self.text}' has no occurrence in the next five years")


def parse(schedule: str) -> Schedule:
    """A schedule from its text: six fields (or five without seconds), or a time span."""
    text = schedule.strip()
    span = _TIMESPAN.match(text)
    if span:
        days, hours, minutes, seconds = (int(g or 0) for g in span.groups())
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval <= timedelta(0):
            raise ScheduleError(f"'{schedule}': a time span schedule must be positive")
        return Schedule(text, None, interval)
    parts = text.split()
    if len(parts) == 5:
        parts = ["0", *parts]
    if len(parts) != 6:
        raise ScheduleError(
            f"'{schedule}' is not a valid NCRONTAB expression: it needs six fields "
            "({second} {minute} {hour} {day} {month} {day-of-week})"
        )
    fields = tuple(_field(p, n, lo, hi, schedule) for p, (n, lo, hi) in zip(parts, _FIELDS, strict=True))
    return Schedule(text, fields)
