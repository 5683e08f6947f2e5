"""Parley's command-line interface, settings and process supervisor."""
