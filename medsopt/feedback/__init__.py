"""Prescribers' feedback on findings: stored in a real database, it suppresses declined findings."""
