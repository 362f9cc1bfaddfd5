"""View state in a URL: short values as they are, structured or long ones (brushes, filter sets) packed.

``pack`` writes JSON; when that is long or would need heavy escaping in a URL it is compressed and base64url
encoded behind a ``~``. ``unpack`` reverses either form and returns None for anything it cannot read (a link cut
short, edited by hand, from another version), so a page falls back to its default instead of failing.
"""
from __future__ import annotations

import base64
import json
import re
import zlib

#: Packed values longer than this are compressed (a URL stays short enough to paste into a chat).
PLAIN_LIMIT = 60
_URL_SAFE = re.compile(r"^[A-Za-z0-9_.,:\-\[\]\" ]*$")


def pack(value: object) -> str:
    """A URL-friendly text for a JSON-able value (lists, dicts, numbers, strings)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if len(text) <= PLAIN_LIMIT and _URL_SAFE.match(text):
        return text
    packed = base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii").rstrip("=")
    return "~" + packed


def unpack(text: str | None) -> object | None:
    """The value ``pack`` wrote, or None when ``text`` is not one."""
    if not text:
        return None
    try:
        if text.startswith("~"):
            body = text[1:]
            raw = zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), bufsize=1 << 16)
            if len(raw) > 1 << 20:  # a link is never this big: refuse rather than allocate
                return None
            text = raw.decode("utf-8")
        return json.loads(text)
    except (ValueError, zlib.error, UnicodeDecodeError, RecursionError):
        return None
