"""The `medsopt` command line."""

import os

# Polars sets its allocator (jemalloc) to hand freed pages back to the OS after half a second.
# A scan's stages free and allocate hundreds of MB a second, so their pages were faulted in
# again and again (a fifth of its CPU time in the kernel); kept five seconds, the faults halve
# for ~0.25 GiB more peak memory. Read once, when polars is first imported: set before. Polars
# writes its own default into the environment, which a child of a polars process inherits:
# that is not the user's choice, so it is replaced too.
_POLARS_DEFAULT = "dirty_decay_ms:500,muzzy_decay_ms:1000"
if os.environ.get("_RJEM_MALLOC_CONF", _POLARS_DEFAULT) == _POLARS_DEFAULT:
    os.environ["_RJEM_MALLOC_CONF"] = "dirty_decay_ms:5000,muzzy_decay_ms:5000"

from medsopt.cli.main import app  # noqa: E402 (after the allocator setting)

__all__ = ["app"]
