"""Test doubles that are real components: a local OpenAI-compatible HTTP server for the judge and titles."""
