"""Deterministic, seeded generator of raw extracts (``tkpk synth``).

``generate(out_dir, side_dir, households, months, seed, region, messiness)`` writes registry
snapshots, disbursement files, PBI-JK membership and local recipient lists into ``out_dir``
following ``shared/spec/raw-extracts.md``, and the log of injected defects (``defects.csv``) and
the file inventory (``files.csv``) into ``side_dir``.
"""

from tkpk.synth.generator import generate

__all__ = ["generate"]
