"""The run summary: plain counts and reasons, inert as markdown."""

from __future__ import annotations

from flows.summary import RunSummary, render_markdown, summary_lines


def test_summary_lines_and_markdown_keep_file_names_inert():
    summary = RunSummary(
        run_id="r1",
        files={"loaded": 2, "quarantined": 1},
        rows={"read": 1234, "accepted": 1200, "quarantined": 30, "duplicate": 4,
              "skipped_lines": 5},
        top_reasons=[("nik_invalid", 20), ("date_invalid", 10)],
        quarantined_files=[("[klik](http://contoh.invalid)_x.csv", "file_kind_unknown")],
    )
    lines = summary_lines(summary)
    assert "files: 2 loaded, 0 already loaded, 1 quarantined" in lines
    assert any("1.234 read, 1.200 accepted, 30 quarantined, 4 duplicate" in x for x in lines)
    markdown = render_markdown(summary)
    assert "](http" not in markdown
    assert r"\[klik\]\(http://contoh.invalid\)" in markdown
    assert RunSummary.from_dict(summary.as_dict()) == summary


def test_summary_warns_of_old_and_borrowed_poverty_lines(con):
    """Period 2031-04 with the packaged lines only (the tests' own line removed): Kota
    Pekalongan's line is the province's 2025-09 line, 67 months old: both warnings."""
    from marts_support import World

    from flows.summary import _line_warnings

    w = World(con)
    con.execute("delete from ref_poverty_line where status = 'test'")
    w.snapshot("2031-04")
    w.household("2031-04", 400_000)
    w.build()
    warnings = _line_warnings(con)
    assert warnings == [
        "poverty line 2031-04 older than 18 months for 33.75 (since 2025-09, 67 months): drop a "
        "newer BPS line into the reference-override folder (TKPK_REFERENCE_DIR)",
        "poverty line 2031-04 borrowed from a wider area for 33.75 (province line of 2025-09)",
    ]
    summary = RunSummary(run_id="r2", line_warnings=warnings)
    assert warnings[1] in summary_lines(summary)


def test_summary_names_the_flagged_fields():
    summary = RunSummary(run_id="r1", flagged_reasons=[("code_invalid", 1500), ("nik_invalid", 3)])
    assert "flagged fields (rows accepted, field empty): code_invalid 1.500, nik_invalid 3" in (
        summary_lines(summary)
    )


def test_sheets_not_read_and_ignored_entries_are_in_the_summary():
    from tkpk.ingest.raw import FileOutcome
    from tkpk.ingest.reading import FileNote

    outcomes = [
        FileOutcome("bantuan_x_2026.xlsx", "ab" * 32, "local", "loaded", None, 3, 4, "l-1",
                    notes=(FileNote("sheet_ignored", "Rekap", 2),)),
        FileOutcome(".gitkeep", None, None, "ignored", "file_ignored", 0, 0, None,
                    notes=(FileNote("file_ignored", "a hidden file"),)),
    ]
    from flows.summary import _file_counts, _sheet_notes

    summary = RunSummary(
        run_id="r1", files=_file_counts(outcomes), sheet_notes=_sheet_notes(outcomes)
    )
    lines = summary_lines(summary)
    assert "files: 1 loaded, 0 already loaded, 0 quarantined, 1 ignored (not read)" in lines
    assert (
        "sheet not read: bantuan_x_2026.xlsx sheet 'Rekap' (2 non-empty rows; only the first "
        "sheet is read)" in lines
    )
    assert lines[-1] == "nothing new: packs unchanged"
