"""Server processes in these tests run one worker unless a test asks for more (`--workers`):
on a shared 2-core machine a worker per core doubles every rule-set build a test waits for."""

from __future__ import annotations

import os

os.environ.setdefault("MEDSOPT_WORKERS", "1")
