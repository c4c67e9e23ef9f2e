"""Every core: N server processes share one port (SO_REUSEPORT) under a supervising parent.

Each worker is a whole server (its own rule-set holder, reload watcher, health and reflection);
the kernel spreads new connections over the workers. The parent only starts, watches and stops
them: a worker that dies is started again after a backoff, and SIGTERM (or SIGINT) to the parent
drains every worker before the parent exits 0. Workers are spawned, never forked: gRPC's core
threads do not survive a fork.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
import queue
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue

from medsopt.service.server import ServerConfig, serve

log = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
# A worker that ran this long before dying is not crash-looping: its next restart is immediate.
STABLE_SECONDS = 60.0
LOOK_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class MetricsEndpoint:
    """Where /metrics is served (one endpoint for every worker)."""

    host: str = "127.0.0.1"
    port: int = 0


def run(config: ServerConfig, workers: int, metrics: MetricsEndpoint | None = None) -> int:
    """Serve with `workers` processes (1: this process alone, the port not shared); exit code."""
    with _metrics_directory(metrics) as metered:
        config = dataclasses.replace(config, metrics=metered)
        if metrics is not None:
            _serve_metrics(metrics)
        if workers == 1:
            serve(config)
            return 0
        return Supervisor(config, workers).run()


@contextlib.contextmanager
def _metrics_directory(metrics: MetricsEndpoint | None) -> Iterator[bool]:
    """A fresh multiprocess directory for the run when metrics are on; removed afterwards."""
    if metrics is None:
        yield False
        return
    from medsopt.service.metrics import use_directory

    directory = tempfile.mkdtemp(prefix="medsopt-metrics-")
    use_directory(directory)
    try:
        yield True
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _serve_metrics(endpoint: MetricsEndpoint) -> None:
    from medsopt.service.metrics import serve_http

    port = serve_http(endpoint.host, endpoint.port)
    print(f"medsopt metrics on http://{endpoint.host}:{port}/metrics", flush=True)


def reserve_port(host: str, port: int) -> socket.socket:
    """Hold `host:port` for the workers: a plain bind first, so a port anyone already uses fails
    loudly (even another reuseport group), then a reuseport socket that never listens."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.bind(address)
        chosen = probe.getsockname()[1]
    held = socket.socket(family, kind, proto)
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    held.bind((address[0], chosen, *address[2:]))
    return held


@dataclass
class Slot:
    """One worker position: its current process and how often it has failed in a row."""

    index: int
    process: BaseProcess | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    ready: bool = False


class Supervisor:
    """Starts `workers` server processes on one port, restarts the ones that die, stops all."""

    def __init__(self, config: ServerConfig, workers: int) -> None:
        self._config = config
        self._workers = workers
        self._context = multiprocessing.get_context("spawn")
        self._ready: Queue[int] = self._context.Queue()
        self._stopping = threading.Event()
        self._slots = [Slot(i) for i in range(workers)]

    def run(self) -> int:
        held = reserve_port(self._config.host, self._config.port)
        port = held.getsockname()[1]
        self._config = dataclasses.replace(self._config, port=port, reuse_port=True)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        try:
            for slot in self._slots:
                self._start(slot)
            announced = False
            while not self._stopping.wait(LOOK_SECONDS):
                self._note_ready()
                if not announced and all(s.ready for s in self._slots):
                    announced = True
                    print(
                        f"medsopt: {self._workers} workers serving on {self._config.host}:{port}",
                        flush=True,
                    )
                self._watch()
            self._stop_all()
        finally:
            held.close()
        log.info("all workers stopped")
        return 0

    def _on_signal(self, signum: int, _frame: object) -> None:
        log.info("signal %d: draining %d workers", signum, self._workers)
        self._stopping.set()

    def _start(self, slot: Slot) -> None:
        process = self._context.Process(
            target=worker_main,
            args=(self._config, slot.index, os.getpid(), self._ready),
            name=f"medsopt-worker-{slot.index}",
        )
        process.start()
        slot.process, slot.started_at, slot.restart_at, slot.ready = (
            process,
            time.monotonic(),
            None,
            False,
        )
        log.info("worker %d started (pid %s)", slot.index, process.pid)

    def _note_ready(self) -> None:
        while True:
            try:
                pid = self._ready.get_nowait()
            except queue.Empty:
                return
            for slot in self._slots:
                if slot.process is not None and slot.process.pid == pid:
                    slot.ready = True

    def _watch(self) -> None:
        now = time.monotonic()
        for slot in self._slots:
            process = slot.process
            if process is not None and process.exitcode is not None:
                self._forget(process)
                lived = now - slot.started_at
                slot.failures = 0 if lived >= STABLE_SECONDS else slot.failures + 1
                delay = backoff(slot.failures)
                log.warning(
                    "worker %d (pid %s) exited with %s after %.1fs; restarting in %.1fs",
                    slot.index,
                    process.pid,
                    process.exitcode,
                    lived,
                    delay,
                )
                slot.process, slot.restart_at, slot.ready = None, now + delay, False
            elif process is None and slot.restart_at is not None and now >= slot.restart_at:
                self._start(slot)

    def _stop_all(self) -> None:
        running = [s.process for s in self._slots if s.process is not None]
        for process in running:
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        drain = self._config.drain_seconds + self._config.grace_seconds
        deadline = time.monotonic() + drain + 10
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                log.error("worker pid %s did not drain in time: killed", process.pid)
                process.kill()
                process.join(5)
            self._forget(process)

    @staticmethod
    def _forget(process: BaseProcess) -> None:
        from medsopt.service.metrics import forget_process

        if process.pid is not None:
            forget_process(process.pid)


def backoff(failures: int) -> float:
    """Seconds to wait before restarting a worker that failed `failures` times in a row."""
    if failures == 0:
        return 0.0
    return float(min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** (failures - 1)))


def worker_main(config: ServerConfig, index: int, parent: int, ready: Queue[int]) -> None:
    """A worker process: one whole server; stops itself if the parent goes away."""
    logging.basicConfig(
        level=logging.INFO, format=LOG_FORMAT.replace("%(name)s", f"worker-{index} %(name)s")
    )

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)  # serve() drains on SIGTERM

    threading.Thread(target=orphaned, name="parent-watch", daemon=True).start()
    serve(config, on_ready=lambda _: ready.put(os.getpid()))
