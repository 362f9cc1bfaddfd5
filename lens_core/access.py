"""Who may use a team portal: an allow-list of e-mail addresses and domains (checked after OIDC login)."""
from __future__ import annotations

from collections.abc import Iterable


def is_allowed(email: str | None, emails: Iterable[str] = (), domains: Iterable[str] = ()) -> bool:
    """True when no list is configured, or the address is listed, or its domain is (``example.com`` also admits
    ``team.example.com``). Comparison ignores case; a missing address is never allowed by a list."""
    emails = {e.strip().lower() for e in emails if e.strip()}
    domains = {d.strip().lower().lstrip("@") for d in domains if d.strip()}
    if not emails and not domains:
        return True
    if not email or "@" not in email:
        return False
    address = email.strip().lower()
    host = address.rsplit("@", 1)[1]
    return address in emails or any(host == d or host.endswith(f".{d}") for d in domains)
