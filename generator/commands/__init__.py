"""One thin module per `lapse` command: options, the stage it calls, the exit code.

Nothing outside `generator.cli` imports from here; stages never print or exit.
"""
