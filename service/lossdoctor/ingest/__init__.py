"""Ingest: every input format becomes one canonical `Run`."""
