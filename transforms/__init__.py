"""SQL transforms of the tkpk pipeline: staging (rename, cast, normalise), marts (curated)."""
