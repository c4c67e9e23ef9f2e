"""Connection settings of the server: message size, keepalive, connection age.

Defaults suit a load balancer in front (idle timeouts of 4-10 minutes are common): the server
pings an idle connection every minute so the balancer never drops it silently, and lets clients
ping every 10 s (gRPC's own default refuses pings more often than every 5 minutes and closes the
connection with `too_many_pings`). A maximum connection age is off by default; set one (e.g.
5 minutes) behind an L4 balancer or with several workers, so long-lived HTTP/2 connections are
spread again over instances and worker processes (SO_REUSEPORT spreads connections, not calls).
"""

from __future__ import annotations

from dataclasses import dataclass

# The largest valid request (100 medicines, 500 condition codes, 500 monitoring results, every
# text field at its limit) is under 200 KB; more is a broken or hostile client.
MAX_REQUEST_BYTES = 1024 * 1024
Options = list[tuple[str, int]]


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """Per-connection limits and timers; None leaves gRPC's default (off for the ages)."""

    max_request_bytes: int = MAX_REQUEST_BYTES
    keepalive_seconds: float = 60.0
    keepalive_timeout_seconds: float = 20.0
    min_client_ping_seconds: float = 10.0
    max_connection_idle_seconds: float | None = None
    max_connection_age_seconds: float | None = None
    max_connection_age_grace_seconds: float | None = None

    def options(self) -> Options:
        """grpc.server options (channel arguments) for these settings."""
        found: Options = [
            ("grpc.max_receive_message_length", self.max_request_bytes),
            ("grpc.keepalive_time_ms", _millis(self.keepalive_seconds)),
            ("grpc.keepalive_timeout_ms", _millis(self.keepalive_timeout_seconds)),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", _millis(self.min_client_ping_seconds)),
            ("grpc.http2.max_pings_without_data", 0),
        ]
        for key, value in (
            ("grpc.max_connection_idle_ms", self.max_connection_idle_seconds),
            ("grpc.max_connection_age_ms", self.max_connection_age_seconds),
            ("grpc.max_connection_age_grace_ms", self.max_connection_age_grace_seconds),
        ):
            if value is not None:
                found.append((key, _millis(value)))
        return found


def _millis(seconds: float) -> int:
    return round(seconds * 1000)
