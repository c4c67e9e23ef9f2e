"""`python -m medsopt` runs the CLI."""

from medsopt.cli import app

app()
