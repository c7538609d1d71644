"""Shared helpers for Dockyard's tests (fixtures live in tests/conftest.py)."""
