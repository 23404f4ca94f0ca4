"""Prefect flows of the tkpk pipeline."""
