"""The supervisor's pure parts: restart backoff and holding the port for the workers."""

from __future__ import annotations

import socket

import pytest

from medsopt.service.workers import MAX_BACKOFF_SECONDS, backoff, reserve_port


def test_backoff_doubles_from_half_a_second_to_a_cap() -> None:
    assert [backoff(n) for n in range(5)] == [0.0, 0.5, 1.0, 2.0, 4.0]
    assert backoff(50) == MAX_BACKOFF_SECONDS


def test_a_held_port_is_shared_only_with_reuseport_listeners() -> None:
    held = reserve_port("127.0.0.1", 0)
    port = held.getsockname()[1]
    try:
        with socket.socket() as worker:
            worker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            worker.bind(("127.0.0.1", port))
            worker.listen()
            with socket.socket() as stranger, pytest.raises(OSError, match="in use"):
                stranger.bind(("127.0.0.1", port))
    finally:
        held.close()


def test_a_port_already_listened_on_is_refused_even_to_reuseport() -> None:
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        with pytest.raises(OSError, match="in use"):
            reserve_port("127.0.0.1", other.getsockname()[1])
