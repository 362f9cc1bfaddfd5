"""Keep credentials out of what users see: tracking URIs and error messages may carry passwords and tokens."""
from __future__ import annotations

import re

_USERINFO = re.compile(r"(?<=://)[^/\s@]+@")
_SECRET_PARAMS = re.compile(r"(?i)\b(token|password|passwd|pwd|secret|api[_-]?key|access[_-]?key|sig)=([^&\s\"']+)")


def redact(text: str) -> str:
    """``https://alice:s3cret@host/x?token=abc`` → ``https://***@host/x?token=***``."""
    return _SECRET_PARAMS.sub(r"\1=***", _USERINFO.sub("***@", text))
