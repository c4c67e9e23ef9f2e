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


class Reloader:
    """Rebuilds the rule set on explicit request or when its files change and settle."""

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
        self._build_lock = threading.Lock()  # one build at a time, watcher or RPC
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: Fingerprint | None = None

    def _fingerprint(self) -> Fingerprint:
        return fingerprint(self._locations.rules_dir, self._locations.formulary_dir)

    def reload_now(self) -> Activation | None:
        """Build from disk now; activate only a valid set whose files did not change meanwhile."""
        with self._build_lock:
            before = self._fingerprint()
            activation = load_into(
                self._holder, self._locations, unchanged=lambda: self._fingerprint() == before
            )
            self._seen = before
        if activation is not None:
            self._on_activate(activation)
        return activation

    def start(self) -> None:
        """Start watching in a daemon thread."""
        if self._seen is None:
            self._seen = self._fingerprint()
        self._thread = threading.Thread(target=self._watch, name="rules-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(self._poll):
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
            try:
                self.reload_now()
            except Exception:  # the watcher must survive anything a bad file can provoke
                log.exception("reload failed unexpectedly; keeping the active rule set")
