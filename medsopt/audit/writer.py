"""Writes audit records off the request path: a queue and one background thread."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Protocol

from medsopt.audit.record import AuditRecord

log = logging.getLogger(__name__)

CAPACITY = 10_000
BATCH = 500
RETRY_SECONDS = 1.0
# After the first record of a batch, wait this long for more: one transaction per ~50 ms
# rather than one per answer keeps the writer's share of the CPU (and the GIL) small.
LINGER_SECONDS = 0.05


class AuditSink(Protocol):
    def append(self, records: list[AuditRecord]) -> None: ...


class AuditWriter:
    """Queues records and appends them in batches. A full queue makes callers wait rather than
    drop a record: an audit with gaps cannot show what was decided."""

    def __init__(self, sink: AuditSink, capacity: int = CAPACITY) -> None:
        self._sink = sink
        self._queue: queue.Queue[AuditRecord | None] = queue.Queue(capacity)
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._closed = threading.Event()
        self._thread.start()

    def submit(self, record: AuditRecord) -> None:
        self._queue.put(record)

    def flush(self) -> None:
        """Wait until every record submitted so far is written."""
        self._queue.join()

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        if not self._closed.is_set():
            self._closed.set()
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            batch = [] if first is None else [first]
            stopping = first is None
            if not stopping:
                self._closed.wait(LINGER_SECONDS)
            while len(batch) < BATCH and not stopping:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            self._write(batch)
            for _ in range(len(batch) + (1 if stopping else 0)):
                self._queue.task_done()

    def _write(self, batch: list[AuditRecord]) -> None:
        while batch:
            try:
                self._sink.append(batch)
                return
            except Exception:
                # Counts only: the records hold patient data.
                log.exception("audit: cannot write %d record(s); retrying", len(batch))
                if self._closed.wait(RETRY_SECONDS):
                    try:
                        self._sink.append(batch)
                    except Exception:
                        log.exception("audit: %d record(s) lost at shutdown", len(batch))
                    return
