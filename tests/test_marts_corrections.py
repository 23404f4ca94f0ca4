"""Corrections, PBI-JK member-months, window months with records and unmatched funding, by hand.

Test line from 2031-01: z = 500,000. Snapshot 2031-01; every household here is in Medono, poor
(y = 400,000, n = 1) and in PKH's target (DESIL 2). File names order the files (the order in
which the pipeline takes them).
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from marts_support import CITY, KEC_SELATAN, KEL_BANYURIP, KEL_MEDONO, World

from transforms.incremental import build_changed
from transforms.models import graph
from transforms.runner import build_marts

MODEL_ORDER = graph().order

SNAP = "2031-01"
FEB = "salur_pkh_bri_203102_tahap1.csv"
MAR = "salur_pkh_bri_203103_tahap1.csv"


def reach(w: World, period: str, program: str = "PKH", area: str = KEL_MEDONO) -> dict:
    """One program_reach row."""
    return w.row("program_reach", period, area, program=program)


def test_retur_in_a_later_file_replaces_the_success(con):
    """a: SUKSES 2031-02-10 (file Feb, stage 1), then RETUR 2031-03-05 (file Mar, stage 1):
    one record, failed, 750,000, dated February: a is not a recipient in any period, and the
    February period (already published) now counts one failed record.
    window_months_with_records of 2031-03 counts the accepted records by their own dates:
    February and March = 2."""
    w = World(con)
    w.snapshot(SNAP)
    _, (a,) = w.household(SNAP, 400_000, members=1, desil=2)
    w.record("PKH", "2031-02-10", nik=a, amount=750_000, stage=1, file_name=FEB)
    w.record("PKH", "2031-03-05", nik=a, amount=750_000, status="failed", stage=1, file_name=MAR)
    w.build()
    for period in ("2031-02", "2031-03"):
        row = reach(w, period)
        assert (row["recipient_households"], row["amount_idr"]) == (0, Decimal("0")), period
        assert (row["failed_records"], row["failed_amount_idr"]) == (1, Decimal("750000")), period
    assert reach(w, "2031-03")["window_months_with_records"] == 2
    assert reach(w, "2031-02")["window_months_with_records"] == 1
    poverty = w.row("kelurahan_poverty", "2031-03", KEL_MEDONO)
    assert poverty["poor_households_unreached"] == 1


@pytest.mark.parametrize(
    ("retry", "expected_failed"),
    [
        # GAGAL 2031-02-20 (file Feb), SUKSES 2031-03-02 (file Mar), same stage: one record,
        # successful, dated February: a recipient from the February period on, nothing failed
        (("2031-03-02", MAR), (0, Decimal("0"))),
        # GAGAL 2031-02-20 and SUKSES 2031-02-25 in the same file (stage 1): two records, a
        # recipient with 750,000 and one failed record of 750,000
        (("2031-02-25", FEB), (1, Decimal("750000"))),
    ],
    ids=["retry_in_a_later_file", "retry_in_the_same_file"],
)
def test_failure_then_success(con, retry, expected_failed):
    """A failed payment and its successful retry (same program, NIK, stage 1)."""
    w = World(con)
    w.snapshot(SNAP)
    _, (b,) = w.household(SNAP, 400_000, members=1, desil=2)
    w.record("PKH", "2031-02-20", nik=b, amount=750_000, status="failed", stage=1, file_name=FEB)
    w.record("PKH", retry[0], nik=b, amount=750_000, stage=1, file_name=retry[1])
    w.build()
    row = reach(w, "2031-02" if retry[1] == FEB else "2031-03")
    assert (row["recipient_households"], row["amount_idr"]) == (1, Decimal("750000"))
    assert (row["failed_records"], row["failed_amount_idr"]) == expected_failed
    # the later file's success is dated like the failure it replaces: February sees it
    assert reach(w, "2031-02")["recipient_households"] == 1


def test_same_stage_a_year_later_is_a_new_payment(con):
    """d: stage 1 paid 2031-02-10 and again 2032-01-25 (next year's stage 1, a later file):
    11 months apart (not within 6 months), so two payments: the window of 2032-01
    (2031-02 .. 2032-01) holds both: 1,500,000. Local lists have no corrections: two BLT-like
    ZAKAT rows of one NIK in two files are two receipts."""
    w = World(con)
    w.snapshot(SNAP)
    _, (e,) = w.household(SNAP, 400_000, members=1, desil=2)
    w.record("PKH", "2031-02-10", nik=e, amount=750_000, stage=1, file_name=FEB)
    w.record("PKH", "2032-01-25", nik=e, amount=750_000, stage=1,
             file_name="salur_pkh_bri_203201_tahap1.csv")
    w.record("ZAKAT", "2031-03-01", nik=e, amount=1_000_000, source_kind="local",
             file_name="bantuan_zakat_2031.csv")
    w.record("ZAKAT", "2031-04-01", nik=e, amount=1_000_000, source_kind="local",
             file_name="bantuan_zakat_2031_revisi.csv")
    w.build()
    assert reach(w, "2032-01")["amount_idr"] == Decimal("1500000")
    assert reach(w, "2031-04", program="ZAKAT")["amount_idr"] == Decimal("2000000")


def test_pbi_member_month_counts_once(con):
    """NIK p in 2031-02: three rows (segments): NONAKTIF (APBN), AKTIF (PBI APBD), AKTIF (PBI
    APBN), in file order: one member-month, active, funded by APBD (its first active row),
    42,000. Two rows with a flagged NIK (NULL) in 2031-02: two member-months, unmatched
    (named on no kelurahan: the city row): unmatched_records 2, 84,000.
    window_months_with_records of 2031-02: one month (February)."""
    w = World(con)
    w.snapshot(SNAP)
    _, (p,) = w.household(SNAP, 400_000, members=1, desil=2)
    rows = [("inactive", "APBN"), ("success", "APBD"), ("success", "APBN")]
    for status, funding in rows:
        w.record("PBI_JK", "2031-02", nik=p, amount=42_000, status=status, funding=funding,
                 source_kind="pbi", file_name="pbi_jk_203102.csv")
    for _ in range(2):
        w.record("PBI_JK", "2031-02", no_nik=True, amount=42_000, funding="APBN",
                 source_kind="pbi", file_name="pbi_jk_203102.csv")
    w.build()
    row = reach(w, "2031-02", program="PBI_JK")
    assert (row["recipient_households"], row["amount_idr"]) == (1, Decimal("42000"))
    assert row["window_months_with_records"] == 1
    city = reach(w, "2031-02", program="PBI_JK", area=CITY)
    assert (city["unmatched_records"], city["unmatched_amount_idr"]) == (2, Decimal("84000"))
    funding = dict(
        w.con.execute(
            "select funding_source, amount_idr from funding_sources "
            "where period = '2031-02-01' and area_code = ?",
            [KEL_MEDONO],
        ).fetchall()
    )
    assert (funding["APBD"], funding["APBN"]) == (Decimal("42000"), Decimal("0"))


def test_funding_view_shows_unmatched_amounts(con):
    """Successful records matching nobody: ZAKAT (BAZNAS) 3,000,000 naming Banyurip; MODAL_USAHA
    funded by CSR 1,000,000 naming no kelurahan; a failed unmatched record (APBD 500,000) is
    not money paid. Banyurip / Kecamatan Selatan / city: BAZNAS 3,000,000; city: CSR 1,000,000;
    no matched recipient: amount_idr 0."""
    w = World(con)
    w.snapshot(SNAP)
    w.household(SNAP, 400_000, members=1, desil=2)
    w.record("ZAKAT", "2031-02-01", amount=3_000_000, kelurahan=KEL_BANYURIP, source_kind="local")
    w.record("MODAL_USAHA", "2031-02-02", amount=1_000_000, funding="CSR", source_kind="local")
    w.record("MODAL_USAHA", "2031-02-03", amount=500_000, status="failed", source_kind="local")
    w.build()

    def unmatched(area: str) -> dict:
        return {
            source: amount
            for source, records, amount in w.con.execute(
                "select funding_source, unmatched_records, unmatched_amount_idr "
                "from funding_sources where period = '2031-02-01' and area_code = ? "
                "and unmatched_amount_idr > 0",
                [area],
            ).fetchall()
            if records == 1
        }

    assert unmatched(KEL_BANYURIP) == {"BAZNAS": Decimal("3000000")}
    assert unmatched(KEC_SELATAN) == {"BAZNAS": Decimal("3000000")}
    assert unmatched(CITY) == {"BAZNAS": Decimal("3000000"), "CSR": Decimal("1000000")}
    assert unmatched(KEL_MEDONO) == {}
    total = w.con.execute(
        "select sum(amount_idr) from funding_sources where period = '2031-02-01' "
        "and area_code = ?",
        [CITY],
    ).fetchone()[0]
    assert total == 0


def test_incremental_build_applies_a_correction_to_an_old_period(con):
    """Built with the February file (a SUKSES for a, a GAGAL for b); then the March file
    arrives: a RETUR for a and a SUKSES for b (same stage). The incremental build recomputes
    February (the corrected records keep their February date) and equals a full build."""
    w = World(con)
    w.snapshot(SNAP)
    _, (a,) = w.household(SNAP, 400_000, members=1, desil=2)
    _, (b,) = w.household(SNAP, 400_000, members=1, desil=2)
    w.record("PKH", "2031-02-10", nik=a, amount=750_000, stage=1, file_name=FEB)
    w.record("PKH", "2031-02-11", nik=b, amount=750_000, status="failed", stage=1, file_name=FEB)
    w.record("BPNT", "2031-04-01", amount=600_000)  # the latest period: 2031-04
    w.flush()
    w.tag("feb", FEB)
    registry = SimpleNamespace(sha256="registry", kind="households", outcome="loaded")
    feb = SimpleNamespace(sha256="feb", kind="disbursements", outcome="loaded")
    assert build_changed(con, [registry, feb]).mode == "full"
    assert reach(w, "2031-02")["recipient_households"] == 1
    w.record("PKH", "2031-03-05", nik=a, amount=750_000, status="failed", stage=1, file_name=MAR)
    w.record("PKH", "2031-03-06", nik=b, amount=750_000, stage=1, file_name=MAR)
    w.flush()
    w.tag("mar", MAR)
    mar = SimpleNamespace(sha256="mar", kind="disbursements", outcome="loaded")
    report = build_changed(con, [mar])
    assert report.mode == "incremental", report.reason
    assert [m.isoformat() for m in report.record_months] == ["2031-02-01", "2031-03-01"]
    assert "2031-02-01" in [p.isoformat() for p in report.periods]
    row = reach(w, "2031-02")
    assert (row["recipient_households"], row["failed_records"]) == (1, 1)  # b received, a RETUR
    tables = {
        name: sorted(con.execute(f"select * from {name}").fetchall(), key=repr)
        for name in MODEL_ORDER
    }
    build_marts(con)
    for name in MODEL_ORDER:
        full = sorted(con.execute(f"select * from {name}").fetchall(), key=repr)
        assert tables[name] == full, f"{name} differs from a full build"
