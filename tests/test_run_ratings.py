"""Team ratings as run tags: what is stored, what a change writes, who rates."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lens_core.runs import run_ratings as rr

NOW = datetime(2026, 11, 27, 14, 5, 9, 123456, tzinfo=UTC)


@pytest.mark.parametrize(("text", "rating"), [("4", 4), ("4.0", 4), (" 5 ", 5), ("", None), ("0", None),
                                              ("6", None), ("3.5", None), ("good", None)])
def test_stored_rating(text, rating):
    assert rr.stored_rating({"lens.rating": text}) == rating
    assert rr.stored_rating({}) is None


def test_rating_tags_write_only_what_changed():
    current = {"lens.rating": "4", "lens.note": "good baseline", "team": "nlp"}
    assert rr.rating_tags(current, rating=4, note="good baseline", who="ada", now=NOW) == {}
    assert rr.rating_tags(current, rating=4, note=" good baseline \n", who="ada", now=NOW) == {}
    assert rr.rating_tags(current, rating=5, note="good baseline", who="ada", now=NOW) == {
        "lens.rating": "5", "lens.rated_by": "ada", "lens.rated_at": "2026-11-27T14:05:09Z"}
    assert rr.rating_tags(current, rating=4, note="better", who="bo", now=NOW) == {
        "lens.note": "better", "lens.rated_by": "bo", "lens.rated_at": "2026-11-27T14:05:09Z"}
    assert rr.rating_tags(current, rating=None, note="good baseline", who="ada", now=NOW)["lens.rating"] == ""
    assert rr.rating_tags({}, rating=None, note="", who="ada", now=NOW) == {}
    first = rr.rating_tags({}, rating=2, note="meh", who="ada", now=NOW)
    assert set(first) == {"lens.rating", "lens.note", "lens.rated_by", "lens.rated_at"}
    with pytest.raises(ValueError):
        rr.rating_tags({}, rating=6, note="", who="ada", now=NOW)


def test_rating_tags_cap_the_note_and_time_in_utc():
    tags = rr.rating_tags({}, rating=None, note="x" * 9000, who="ada", now=NOW)
    assert len(tags["lens.note"]) == rr.MAX_NOTE_CHARS
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    assert rr.iso_utc(paris) == "2026-11-27T14:05:09Z"
    assert rr.iso_utc(datetime(2026, 1, 1, 8, 0)) == "2026-01-01T08:00:00Z"
    assert datetime.fromisoformat(rr.iso_utc(NOW)) == NOW.replace(microsecond=0)


def test_rater_identity():
    assert rr.rater_identity({}) is None
    assert rr.rater_identity({"is_logged_in": False, "name": "Ada"}) is None
    assert rr.rater_identity({"is_logged_in": True, "name": "Ada L", "email": "ada@x.org"}) == "Ada L <ada@x.org>"
    assert rr.rater_identity({"is_logged_in": True, "email": "ada@x.org"}) == "ada@x.org"
    assert rr.rater_identity({"is_logged_in": True, "sub": "123"}) == "123"
    assert rr.rater_identity({"is_logged_in": True}) is None
