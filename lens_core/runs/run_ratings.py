"""Team ratings of a run: 1–5 stars and a note, stored as run tags any MLflow tool can read (``lens.rating``,
``lens.note``), with who rated and when (``lens.rated_by``, ``lens.rated_at``)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

RATING_TAG, NOTE_TAG, RATED_BY_TAG, RATED_AT_TAG = "lens.rating", "lens.note", "lens.rated_by", "lens.rated_at"
#: MLflow keeps at most 5,000 characters in a tag value on older servers (8,000 on newer ones).
MAX_NOTE_CHARS = 5000


def stored_rating(tags: Mapping[str, str]) -> int | None:
    """The 1–5 rating in a run's tags (``"4"``, ``"4.0"``), None when absent, empty or out of range."""
    text = str(tags.get(RATING_TAG, "") or "").strip()
    try:
        value = float(text)
    except ValueError:
        return None
    if not value.is_integer() or not 1 <= value <= 5:
        return None
    return int(value)


def rating_tags(
    current: Mapping[str, str],
    *,
    rating: int | None,
    note: str,
    who: str,
    now: datetime,
) -> dict[str, str]:
    """The tags to write for a rating and note: only what changed against ``current`` (the run's tags as
    the tracker has them now), plus who and when; empty when nothing changed. A cleared rating is written as
    an empty ``lens.rating`` (tags cannot be deleted through every tracker)."""
    if rating is not None and not 1 <= int(rating) <= 5:
        raise ValueError(f"A rating is 1 to 5 stars, not {rating!r}.")
    changes: dict[str, str] = {}
    had_rating = bool(str(current.get(RATING_TAG, "") or ""))
    if rating != stored_rating(current) and (rating is not None or had_rating):
        changes[RATING_TAG] = "" if rating is None else str(int(rating))
    new_note = (note or "").strip()
    if new_note != str(current.get(NOTE_TAG, "") or "").strip():
        changes[NOTE_TAG] = new_note[:MAX_NOTE_CHARS]
    if changes:
        changes[RATED_BY_TAG] = who
        changes[RATED_AT_TAG] = iso_utc(now)
    return changes


def iso_utc(moment: datetime) -> str:
    """``2026-11-27T14:05:09Z`` (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def rater_identity(user: Mapping[str, object]) -> str | None:
    """Who is rating, from Streamlit's ``st.user`` claims when a user is logged in: "Name <email>", the name,
    the email or the subject; None when nobody is logged in (authentication not configured)."""
    if not user.get("is_logged_in"):
        return None
    name = str(user.get("name") or "").strip()
    email = str(user.get("email") or "").strip()
    if name and email:
        return f"{name} <{email}>"
    return name or email or (str(user.get("sub") or "").strip() or None)
