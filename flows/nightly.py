"""The nightly flow: ingest new raw extracts, validate, compute indicators, publish the packs.

Placeholder wiring until the ingest and indicator stages land; ``run_nightly`` is what
``tkpk run`` calls.
"""

from __future__ import annotations

from tkpk.config import Settings


def run_nightly(settings: Settings) -> bool:
    """Run the nightly job once; True when the run completed."""
    raise NotImplementedError("the nightly flow is being wired")
