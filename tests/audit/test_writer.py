"""The audit writer: every submitted record is written, in order, even after a failed write."""

from __future__ import annotations

import datetime

import pytest

from medsopt.audit import writer as writer_module
from medsopt.audit.record import AuditRecord, digest
from medsopt.audit.writer import AuditWriter


def record(n: int) -> AuditRecord:
    request = f"request {n}".encode()
    return AuditRecord(
        request_id=f"r-{n}",
        caller="anonymous",
        decided_at=datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC),
        as_of="2026-12-06",
        ruleset_version="2026.11.4",
        ruleset_hash="h",
        request_sha256=digest(request),
        request=request,
        finding_ids=(),
    )


class Sink:
    """Keeps what it is given; refuses the first `failures` writes, as a database down would."""

    def __init__(self, failures: int = 0) -> None:
        self.written: list[AuditRecord] = []
        self.failures = failures

    def append(self, records: list[AuditRecord]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database unavailable")
        self.written.extend(records)


def test_every_record_is_written_in_order_in_batches() -> None:
    sink = Sink()
    writer = AuditWriter(sink, capacity=64)  # smaller than the run: submit must wait, not drop
    records = [record(n) for n in range(2000)]
    for item in records:
        writer.submit(item)
    writer.close()
    assert sink.written == records


def test_a_failed_write_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "RETRY_SECONDS", 0.01)
    sink = Sink(failures=2)
    writer = AuditWriter(sink)
    writer.submit(record(1))
    writer.flush()
    assert sink.written == [record(1)]
    writer.close()
