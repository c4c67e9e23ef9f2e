"""Append-only audit of every decision: enough to replay it against its rule set."""
