"""Watch the rule and formulary directories; rebuild aside and swap in only valid, settled sets."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from medsopt.rules.holder import Activation, RuleSetHolder
from medsopt.store.activate import Locations, load_into

log = logging.getLogger(__name__)
# How long stopping waits for a cancelled build to reach its next stage and return.
BUILD_STOP_SECONDS = 10.0

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(*roots: Path) -> Fingerprint:
    """(path, size, mtime) of every non-hidden file under `roots`; changes when any file does."""
    entries: list[tuple[str, int, int]] = []
    for root in roots:
        for directory, subdirs, files in os.walk(root):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            for name in sorted(files):
                # Editor swap/backup files are never content and must not trigger reloads.
                if name.startswith(".") or name.endswith(("~", ".swp", ".tmp")):
                    continue
                path = os.path.join(directory, name)
                try:
                    stat = os.stat(path)
                except FileNotFoundError:  # deleted between listing and stat: next poll sees it
                    continue
                entries.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(entries)


class _Build:
    """One build, shared by every caller that asked for a reload while it was pending."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.activation: Activation | None = None


class Reloader:
    """Rebuilds the rule set on explicit request or when its files change and settle.

    Concurrent requests share builds: at most one runs and one waits; every request made while
    a build runs joins the waiting one (which reads the files after they asked). Builds run in
    daemon threads and can be abandoned, so a slow or hostile build never blocks shutdown.
    """

    def __init__(
        self,
        holder: RuleSetHolder,
        locations: Locations,
        on_activate: Callable[[Activation], None] = lambda _: None,
        poll_seconds: float = 1.0,
        quiet_seconds: float = 0.5,
    ) -> None:
        self._holder = holder
        self._locations = locations
        self._on_activate = on_activate
        self._poll = poll_seconds
        self._quiet = quiet_seconds
        self._lock = threading.Lock()
        self._running: _Build | None = None
        self._pending: _Build | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._builder: threading.Thread | None = None
        self._seen: Fingerprint | None = None
        self.builds = 0  # builds started, for tests and the log

    def _fingerprint(self) -> Fingerprint:
        return fingerprint(self._locations.rules_dir, self._locations.formulary_dir)

    def reload_now(self) -> Activation | None:
        """Build from disk (sharing a build already waiting to start) and wait for it.

        Returns the activation, or None if the build was rejected, discarded or abandoned.
        """
        with self._lock:
            if self._stop.is_set():
                return None
            build = self._pending
            if build is None:
                build = self._pending = _Build()
                if self._running is None:
                    self._start(build)
        while not build.done.wait(0.1):
            if self._stop.is_set():
                return None
        return build.activation

    def _start(self, build: _Build) -> None:
        """Run `build` in a daemon thread (called holding the lock)."""
        self._pending = None
        self._running = build
        self.builds += 1
        self._builder = threading.Thread(
            target=self._run, args=(build,), name="rules-build", daemon=True
        )
        self._builder.start()

    def _run(self, build: _Build) -> None:
        log.info("building the rule set from %s", self._locations.rules_dir)
        try:
            before = self._fingerprint()
            outcome = load_into(
                self._holder,
                self._locations,
                unchanged=lambda: self._fingerprint() == before,
                cancelled=self._stop.is_set,
            )
            # Seen even when rejected: the watcher rebuilds only when the files change again.
            self._seen = before
            if isinstance(outcome, Activation):
                build.activation = outcome
                self._on_activate(outcome)
        except Exception:  # load_into records failures; this is a defect, keep serving
            log.exception("reload failed unexpectedly; keeping the active rule set")
        finally:
            with self._lock:
                self._running = None
                if self._pending is not None and not self._stop.is_set():
                    self._start(self._pending)
            build.done.set()

    def start(self) -> None:
        """Start watching in a daemon thread."""
        if self._seen is None:
            self._seen = self._fingerprint()
        self._thread = threading.Thread(target=self._watch, name="rules-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching and abandon any build; waiting callers return at once.

        A build in progress is cancelled and waited for (up to `BUILD_STOP_SECONDS`): a daemon
        thread still inside polars when the interpreter exits is killed mid-call, and the
        process aborts ("FATAL: exception not rethrown") instead of exiting 0.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            builder = self._builder
        if builder is not None:
            builder.join(timeout=BUILD_STOP_SECONDS)

    def _watch(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                current = self._fingerprint()
                if current == self._seen:
                    continue
                # Debounce: an editor saving in two steps or a copy in progress changes the tree
                # several times; wait until it has been quiet for a while before building.
                while not self._stop.wait(self._quiet):
                    settled = self._fingerprint()
                    if settled == current:
                        break
                    current = settled
                if self._stop.is_set():
                    return
                log.info("rule or formulary files changed; rebuilding")
                self.reload_now()
            except Exception:  # the watcher must survive anything a bad file can provoke
                log.exception("watching failed unexpectedly; keeping the active rule set")
