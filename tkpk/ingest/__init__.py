"""Ingest: discover raw files, read them into raw tables, normalise, validate, accept."""
