"""Adapter package; built out in a later issue (see README)."""
