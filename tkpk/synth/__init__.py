"""Deterministic, seeded generator of raw extracts (``tkpk synth``).

``generate(out_dir, side_dir, households, months, seed, region, messiness)`` writes into
``out_dir`` (the raw folder) what the offices send, following ``docs/contract/raw-extracts.md``:

- registry snapshots about quarterly (months 1, 4, 7, 10 ... of the range):
  ``dtsen_keluarga_<region digits>_YYYYMM.csv`` and ``dtsen_anggota_<region digits>_YYYYMM.csv``;
- disbursements ``salur_<program>_<channel>_YYYYMM[_tahapN].csv|xlsx`` (PKH, BPNT/Sembako, one BLT
  episode, PIP; failed payments, next-month retries, unmatched and family-card-only recipients);
- monthly PBI-JK membership ``pbi_jk_YYYYMM.csv|xlsx``;
- yearly local lists ``bantuan_<program>_YYYY[_suffix].xlsx|csv`` laid out as government
  spreadsheets (modal usaha APBD and CSR, pelatihan DBHCHT, RTLH APBD and DAK, zakat BAZNAS).

Every header alias and value format of the contract appears somewhere in a run (styles rotate
across files). With ``messiness > 0`` a share of rows gets one defect each, covering every
row-level reason of the contract, and five junk files exercise the file-level reasons.

Side files in ``side_dir`` (never in the raw folder), both UTF-8 with a header:

- ``defects.csv``: ``file_name, row_number, kind, column, defect, expected_outcome,
  expected_reasons, value`` -- one line per injected defect. ``row_number`` is the 1-based data
  row (empty for a file-level defect); ``expected_outcome`` is ``accepted``, ``quarantined``,
  ``duplicate`` or ``file_quarantined``; ``expected_reasons`` are contract codes joined by ``|``
  (empty for a duplicate); ``column`` is the canonical column touched; ``defect`` names the
  form (``nik_too_short``, ``date_31_feb``, ``exact_duplicate``,
  ``member_of_quarantined_household`` ...); ``value`` is the cell as written (for a duplicate:
  ``row N repeated``). Rows not listed are clean and must be accepted.
- ``files.csv``: ``file_name, kind, data_rows, skipped_lines, format, encoding, delimiter,
  line_ending, program, period, ignored_sheets`` -- one line per file written, so a loader can
  reconcile ``rows_read`` (a quarantined file reads 0 rows whatever ``data_rows`` says);
  ``ignored_sheets`` is ``<sheet>:<non-empty rows>`` of each later sheet with data (recorded
  ``sheet_ignored`` by the loader), ``|``-joined.
"""

from tkpk.synth.generator import generate

__all__ = ["generate"]
