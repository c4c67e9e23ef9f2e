"""The `medsopt` command line."""

from medsopt.cli.main import app

__all__ = ["app"]
