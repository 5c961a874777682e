"""Timestamps as the tables store them: ISO 8601, UTC, whole seconds, `Z` suffix."""

from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def to_iso(moment: datetime) -> str:
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return utc.isoformat(timespec="seconds") + "Z"  # isoformat keeps 4-digit years, strftime may not


def parse_iso(text: str) -> datetime | None:
    """The moment `text` names, in UTC (no offset means UTC); None when it is not ISO 8601
    or falls outside the years 1 to 9999 once moved to UTC."""
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None
