"""The opt-in access log: one line per call, written off the request thread.

Off by default: a call then does no logging work at all. On (`MEDSOPT_ACCESS_LOG=1`), a call
only formats its line and puts it on a queue (`QueueHandler`); a background thread
(`QueueListener`) hands it to the `medsopt.access` logger, so the handlers the process set up
(and their locks and I/O) never hold up an answer. Lines carry counts, statuses, timings and
the caller's `x-request-id`, never codes, refs or patient facts.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
from logging.handlers import QueueHandler, QueueListener

ENV = "MEDSOPT_ACCESS_LOG"
LOGGER = "medsopt.access"


class _ToLogger(logging.Handler):
    """Hands a queued record to the `medsopt.access` logger and its ancestors' handlers."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


class AccessLog:
    """Writes access lines through a queue; `stop` drains it."""

    def __init__(self) -> None:
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        # A logger outside the hierarchy: it only feeds the queue, whatever the process's
        # logging configuration (the listener passes records on to the real one).
        self._logger = logging.Logger(LOGGER, logging.INFO)
        self._logger.addHandler(QueueHandler(records))
        self._listener = QueueListener(records, _ToLogger())
        self._listener.start()
        atexit.register(self.stop)

    @classmethod
    def from_env(cls) -> AccessLog | None:
        """An access log when `MEDSOPT_ACCESS_LOG` is 1/true/yes/on, else None."""
        wanted = os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes", "on")
        return cls() if wanted else None

    def call(
        self, method: str, status: str, millis: float, request_id: str, **counts: object
    ) -> None:
        """One line for one call, e.g. `CheckMedications OK 1.20ms request_id=abc findings=3`."""
        details = " ".join(f"{name}={value}" for name, value in counts.items())
        self._logger.info(
            "%s %s %.2fms request_id=%s %s", method, status, millis, request_id or "-", details
        )

    def stop(self) -> None:
        """Write what is queued and stop the background thread (idempotent)."""
        if self._listener._thread is not None:
            self._listener.stop()
