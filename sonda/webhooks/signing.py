"""Signing of deliveries, and the check a receiver makes (docs/webhooks.md shows the same code).

`Sonda-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed with the
endpoint's secret exactly as it was shown (`whsec_…`, all of it). The timestamp is signed with the
body, so a captured delivery cannot be replayed later under a fresh timestamp, and a receiver
refuses one whose timestamp is older (or further ahead) than its tolerance. The header may carry
more than one `v1=`; any of them matching is enough. While a rotated secret's previous one is
still valid every delivery is signed with both, the new secret's `v1=` first, so a receiver
holding either secret accepts it.
"""

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence

SIGNATURE_HEADER = "Sonda-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a public marker, not a secret
SECRET_BYTES = 32
DEFAULT_TOLERANCE_SECONDS = 300


def secret_generate() -> str:
    """A new endpoint secret: 32 random bytes, URL-safe, with a prefix that says what it is."""
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` with the secret."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(endpoint_secrets: Sequence[str], body: bytes, timestamp: int) -> str:
    """The `Sonda-Signature` value for a body sent at `timestamp` (unix seconds): one `v1=` per
    secret, in the order given (the current secret first)."""
    signatures = ",".join(f"v1={signature(secret, timestamp, body)}" for secret in endpoint_secrets)
    return f"t={timestamp},{signatures}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether `header` (the `Sonda-Signature` value) signs exactly this raw body with the secret,
    at a time within `tolerance` seconds of now."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
