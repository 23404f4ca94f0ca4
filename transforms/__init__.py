"""SQL transforms of the tkpk pipeline: staging (rename, cast, normalise) and marts (curated tables)."""
