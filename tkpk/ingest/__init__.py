"""Ingest: discover raw files, read and normalise each once (staged rows), validate, accept."""
