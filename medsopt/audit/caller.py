"""Who made a call, for the audit: the authenticated token subject, else the client
certificate, else 'anonymous'.

The token interceptor sets the subject with `authenticated_as` around the call. The caller is
never read from request metadata that a client may set itself: an audit's caller must be
authenticated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

ANONYMOUS = "anonymous"

authenticated_subject: ContextVar[str | None] = ContextVar(
    "medsopt_authenticated_subject", default=None
)


@contextmanager
def authenticated_as(subject: str) -> Iterator[None]:
    """Run the rest of a call as `subject` (a verified token's `sub`)."""
    token = authenticated_subject.set(subject)
    try:
        yield
    finally:
        authenticated_subject.reset(token)


def caller(peer_identities: Sequence[bytes] | None) -> str:
    """The caller of the current call, given the transport's verified peer identities."""
    subject = authenticated_subject.get()
    if subject:
        return f"token:{subject}"
    if peer_identities:
        return f"certificate:{peer_identities[0].decode(errors='replace')}"
    return ANONYMOUS
