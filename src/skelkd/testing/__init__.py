"""Helpers for testing skelkd and code built on it (malformed-input generators)."""
