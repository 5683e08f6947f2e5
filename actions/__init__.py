"""Rasa custom actions: thin glue between the Rasa action protocol and Parley's capabilities."""
