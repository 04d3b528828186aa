"""Fixtures for the actor tests live in tests/conftest.py (shared with the learner)."""
