"""tkpk: poverty statistics for the Kota Pekalongan poverty task force (TKPK)."""

__version__ = "0.1.0"
