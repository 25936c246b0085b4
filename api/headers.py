"""The security headers every response carries (pages, API, problems, files)."""

from __future__ import annotations

Header = tuple[bytes, bytes]

PAGE_CSP = (b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            b"connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
            b"frame-ancestors 'none'")
SECURITY: tuple[Header, ...] = (
    (b"content-security-policy", PAGE_CSP),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


def merge(headers: list[Header], extra: tuple[Header, ...] | list[Header]) -> list[Header]:
    """``headers`` plus those of ``extra`` it does not already name."""
    present = {k.lower() for k, _ in headers}
    return headers + [(k, v) for k, v in extra if k not in present]
