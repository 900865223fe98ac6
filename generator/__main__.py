"""`python -m generator`: the same entry point as the `lapse` command."""

from generator.cli import run

run()
