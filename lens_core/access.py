"""Who may use a team portal: an allow-list of e-mail addresses and domains (checked after OIDC login)."""
from __future__ import annotations

from collections.abc import Iterable


def is_allowed(email: str | None, emails: Iterable[str] = (), domains: Iterable[str] = (),
               email_verified: object = None) -> bool:
    """True when no list is configured, or the address is listed, or its domain is (``example.com`` also admits
    ``team.example.com``). Comparison ignores case; a missing address is never allowed by a list. When the
    identity provider sends ``email_verified``, a list admits the address only if it is true (an unverified
    address proves nothing about who holds it); providers that do not send the claim are taken at their word."""
    emails = {e.strip().lower() for e in emails if e.strip()}
    domains = {d.strip().lower().lstrip("@") for d in domains if d.strip()}
    if not emails and not domains:
        return True
    if not email or "@" not in email:
        return False
    if email_verified is not None and not _true(email_verified):
        return False
    address = email.strip().lower()
    host = address.rsplit("@", 1)[1]
    return address in emails or any(host == d or host.endswith(f".{d}") for d in domains)


def _true(claim: object) -> bool:
    """An OIDC boolean claim: ``True``, or the strings "true" / "1" some providers send."""
    if isinstance(claim, bool):
        return claim
    return str(claim).strip().lower() in ("true", "1")
