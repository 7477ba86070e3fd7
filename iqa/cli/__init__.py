"""Command-line interface (``iqa``)."""
