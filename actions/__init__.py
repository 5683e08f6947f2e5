"""Rasa custom actions: thin glue between the Rasa action protocol and Parley's capabilities."""

from actions.selective_domain import install as _install_selective_domain

# Before any action runs (rasa-sdk imports this package first): see selective_domain.py.
_install_selective_domain()
