"""The caller an audit records: a verified token's subject, else the client certificate."""

from __future__ import annotations

from medsopt.audit.caller import ANONYMOUS, authenticated_as, caller


def test_the_token_subject_wins_then_the_certificate_then_anonymous() -> None:
    assert caller(None) == ANONYMOUS
    assert caller([b"epr.example.nhs.uk"]) == "certificate:epr.example.nhs.uk"
    with authenticated_as("epr-client-7"):
        assert caller([b"epr.example.nhs.uk"]) == "token:epr-client-7"
    assert caller(()) == ANONYMOUS
