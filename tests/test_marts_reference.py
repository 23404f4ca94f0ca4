"""The marts against an independent pure-Python computation of the spec on a random sample.

A seeded generator writes a few hundred synthetic households (two usable snapshots, one unusable)
and program records (matched by NIK, by family card, unmatched, failed, inactive PBI-JK rows,
records outside the windows, amounts on the boundaries), then every count and amount of the area
tables is recomputed here from the same rows, with exact arithmetic (Fraction, Decimal), and
compared cell by cell: the MPI over the households with no missing indicator (a member 15+
without PENDIDIKAN_TERTINGGI here), PBI-JK as one member-month per NIK and month, adequacy for
the catalog's adequacy programs only, gini and the median by their O(n^2) definitions.
Invariants (p2 <= p1 <= p0, shares adding up) are checked on the same run.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from marts_support import TEST_EXTREME_LINE, TEST_LINE, World, module_connection

SNAPSHOTS = {date(2031, 1, 1): True, date(2031, 4, 1): True, date(2031, 7, 1): False}
KELURAHAN = ["33.75.01.1002", "33.75.01.1003", "33.75.02.1004", "33.75.03.1002", "33.75.04.1010"]
PROGRAMS = ["PKH", "BPNT", "PIP", "PBI_JK", "PELATIHAN", "ZAKAT"]
SPECIAL_Y = [Decimal("500000.00"), Decimal("499999.99"), Decimal("599999.99"), Decimal("600000")]


def month_add(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def last_day(month: date) -> date:
    """The last day of ``month``."""
    return date.fromordinal(month_add(month, 1).toordinal() - 1)


def age_on(birth: date, day: date) -> int:
    """Completed years on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def generate(w: World, seed: int = 7) -> dict:
    """Insert the random sample; return the rows as Python data for the reference computation."""
    rng = random.Random(seed)
    households: dict[date, list[dict]] = {}
    people: dict[int, dict] = {}
    for snapshot, usable in SNAPSHOTS.items():
        w.snapshot(snapshot.isoformat(), usable)
        households[snapshot] = []
        for h in range(120):
            if rng.random() < 0.1:
                continue  # not in this snapshot
            y = (
                rng.choice(SPECIAL_Y)
                if rng.random() < 0.15
                else Decimal(rng.randint(0, 9000)) * 100
            )
            size = rng.choice([0, 1, 2, 3, 3, 4, 5, 6])
            members = []
            for m in range(size):
                key = h * 10 + m
                person = people.setdefault(
                    key, {"nik": w.nik(), "birth": date(rng.randint(1940, 2030), 2, 28)}
                )
                if rng.random() < 0.1:
                    person["birth"] = date(person["birth"].year, rng.randint(1, 12), 15)
                members.append(
                    {
                        "nik": person["nik"],
                        "birth": person["birth"],
                        "pendidikan": rng.choice([0, 1, 2, 3, 4, 5, None]),
                        "sekolah": rng.choice([0, 1, 1, 2]),
                        "jkn": rng.choice([0, 1, 2, 2, 3]),
                    }
                )
            row = {
                "id": f"H{h:04d}",
                "kk": f"337501010100{h:04d}",
                "kel": rng.choice(KELURAHAN),
                "y": y,
                "desil": rng.randint(1, 10),
                "luas": Decimal(8 * size) if rng.random() < 0.2 else Decimal(rng.randint(5, 90)),
                "codes": {
                    "jenis_lantai": rng.randint(1, 7),
                    "jenis_dinding": rng.randint(1, 7),
                    "sumber_air_minum": rng.randint(1, 11),
                    "sumber_penerangan": rng.choice([1, 1, 2, 3, 4]),
                    "bahan_bakar_masak": rng.randint(1, 7),
                    "fasilitas_bab": rng.randint(1, 4),
                },
                "members": members,
            }
            w.household(
                snapshot.isoformat(), y, row["kel"], members=members or [], desil=row["desil"],
                luas_lantai=float(row["luas"]), id_keluarga=row["id"], no_kk=row["kk"],
                **row["codes"],
            )  # fmt: skip
            households[snapshot].append(row)
    records = []
    all_niks = [p["nik"] for p in people.values()]
    for _ in range(700):
        program = rng.choice(PROGRAMS)
        month = month_add(date(2030, 5, 1), rng.randint(0, 17))
        when = date(month.year, month.month, rng.randint(1, 28))
        kind = rng.random()
        nik, kk = rng.choice(all_niks), None
        if kind < 0.1:
            nik, kk = w.nik(), f"337501010100{rng.randint(0, 130):04d}"  # family card only
        elif kind < 0.2:
            nik = w.nik()  # nobody
        if program == "PBI_JK":
            status, amount, when = rng.choice(["success", "success", "inactive"]), 42_000, month
        else:
            status = rng.choice(["success", "success", "success", "failed"])
            amount = 0 if program == "PELATIHAN" else rng.randint(1, 40) * 50_000
        record = {
            "program": program,
            "month": month,
            "nik": nik,
            "kk": kk,
            "kel": rng.choice([*KELURAHAN, None]),
            "amount": Decimal(amount),
            "status": status,
            "funding": rng.choice(["APBN", "APBD", "CSR"]),
        }
        w.record(
            program, when.isoformat(), nik=nik, amount=amount, status=status, no_kk=kk,
            kelurahan=record["kel"], funding=record["funding"],
        )  # fmt: skip
        records.append(record)
    return {"households": households, "records": records}


def reference(con, data: dict) -> dict:
    """Expected counts per (table, period, area[, key]) computed from the spec in Python."""
    areas = {
        code: level for code, level in con.execute("select code, level from ref_area").fetchall()
    }
    parents = {
        code: [code, kec, city]
        for code, kec, city in con.execute(
            "select code, kecamatan_code, kabkota_code from ref_area where level = 'kelurahan'"
        ).fetchall()
    }
    targets = dict(con.execute("select code, target_desil_max from ref_program").fetchall())
    cash = dict(con.execute("select code, adequacy from ref_program").fetchall())
    usable = sorted(s for s, ok in SNAPSHOTS.items() if ok)
    months = set(SNAPSHOTS) | {r["month"] for r in data["records"]}
    periods = {m: max(s for s in usable if s <= m) for m in months if any(s <= m for s in usable)}
    z, ze = TEST_LINE, TEST_EXTREME_LINE
    out: dict = defaultdict(lambda: defaultdict(int))
    # PBI-JK: one member-month per NIK and month: its first active row (file order)
    member_months, taken = set(), []
    for r in data["records"]:
        if r["program"] == "PBI_JK" and r["status"] == "success":
            if (r["nik"], r["month"]) in member_months:
                continue
            member_months.add((r["nik"], r["month"]))
        taken.append(r)
    record_months = {(r["program"], r["month"]) for r in data["records"]}
    distribution: dict = defaultdict(list)
    for m, s in periods.items():
        rows = data["households"][s]
        by_id = {h["id"]: h for h in rows}
        by_nik = {}
        for h in sorted(rows, key=lambda h: h["id"], reverse=True):
            for p in h["members"]:
                by_nik[p["nik"]] = h["id"]
        by_kk = {h["kk"]: h["id"] for h in rows}
        window = (month_add(m, -11), m)
        received: dict[str, set] = defaultdict(set)
        for program in targets:
            out[("window", m, program)]["v"] = sum(
                (program, month_add(m, -k)) in record_months for k in range(12)
            )
        for r in taken:
            if not (window[0] <= r["month"] <= window[1]) or r["status"] == "inactive":
                continue
            hid = by_nik.get(r["nik"]) or by_kk.get(r["kk"])
            kel = by_id[hid]["kel"] if hid else r["kel"]
            where = parents[kel] if kel else [next(a for a, lv in areas.items() if lv == "kota")]
            for area in where:
                cell = out[("reach", m, area, r["program"])]
                if r["status"] == "failed":
                    cell["failed_records"] += 1
                    cell["failed_amount_idr"] += r["amount"]
                elif hid is None:
                    cell["unmatched_records"] += 1
                    cell["unmatched_amount_idr"] += r["amount"]
                    fund = out[("fund", m, area, r["funding"])]
                    fund["unmatched_records"] += 1
                    fund["unmatched_amount_idr"] += r["amount"]
            if hid and r["status"] == "success":
                received[hid].add(r["program"])
                out[("amount", m, hid, r["program"])]["v"] += r["amount"]
                out[("funding", m, hid, r["funding"])]["v"] += r["amount"]
        for h in rows:
            n, y = len(h["members"]), h["y"]
            ref = last_day(s)
            ages = [(age_on(p["birth"], ref), p) for p in h["members"]]
            adults = [p for a, p in ages if a >= 15]
            c = h["codes"]
            deprived = {
                "schooling": bool(adults) and not any((p["pendidikan"] or 0) >= 2 for p in adults),
                "attendance": any(7 <= a <= 15 and p["sekolah"] != 1 for a, p in ages),
                "insurance": any(p["jkn"] == 0 for p in h["members"]),
                "electricity": c["sumber_penerangan"] == 4,
                "water": c["sumber_air_minum"] in (6, 8, 9, 10, 11),
                "sanitation": c["fasilitas_bab"] in (3, 4),
                "housing": c["jenis_lantai"] in (5, 6) or c["jenis_dinding"] in (4, 5, 6),
                "cooking_fuel": c["bahan_bakar_masak"] in (5, 6),
                "crowding": n > 0 and Fraction(h["luas"]) / n < 8,
            }
            weights = {"schooling": 3, "attendance": 3, "insurance": 6}
            score = sum(weights.get(k, 1) for k, v in deprived.items() if v)
            # the only missing values of this sample: PENDIDIKAN of a member aged 15+
            complete = not any(p["pendidikan"] is None for p in adults)
            poor, programs = y < z, received.get(h["id"], set())
            for area in parents[h["kel"]]:
                cell = out[("poverty", m, area)]
                cell["population"] += n
                cell["households"] += 1
                cell["poor_population"] += n * poor
                cell["poor_households"] += poor
                cell["gap"] += n * (z - y) if poor else 0
                cell["gap2"] += n * (Fraction(z - y) / Fraction(z)) ** 2 if poor else 0
                cell["extreme_poor_population"] += n * (y < ze)
                cell["near_poor_population"] += n * (z <= y and y < Decimal("1.2") * z)
                cell["households_desil_1_4"] += h["desil"] <= 4
                cell["poor_households_unreached"] += poor and not programs
                cell["mpi_population"] += n * complete
                cell["mpi_poor_population"] += n * (score >= 6) * complete
                cell["mpi_score"] += n * score * (score >= 6) * complete
                for k, v in deprived.items():
                    cell[f"deprived_{k}"] += n * v * complete
                distribution[(m, area)].append((n, Fraction(y)))
                overlap = out[("overlap", m, area)]
                bucket = min(len(programs), 3)
                overlap[f"poor_{bucket}"] += poor
                overlap[f"target_{bucket}"] += h["desil"] <= 4
                for program, tmax in targets.items():
                    cell = out[("reach", m, area, program)]
                    cell["target_households"] += h["desil"] <= tmax
                    cell["poor_households"] += poor
                    if program in programs:
                        cell["recipient_households"] += 1
                        cell["amount_idr"] += out[("amount", m, h["id"], program)]["v"]
                        cell["recipient_target_households"] += h["desil"] <= tmax
                        cell["recipient_poor_households"] += poor
                        cell["recipient_consumption_idr_year"] += 12 * n * y
                for source in ("APBN", "APBD", "CSR"):
                    amount = out[("funding", m, h["id"], source)].get("v")
                    if amount is not None:
                        out[("fund", m, area, source)]["recipient_households"] += 1
                        out[("fund", m, area, source)]["amount_idr"] += amount
            for program in programs:
                cell = out[("incidence", m, program, h["desil"])]
                cell["recipient_households"] += 1
                cell["amount_idr"] += out[("amount", m, h["id"], program)]["v"]
    return {"periods": periods, "cells": out, "cash": cash, "distribution": distribution}


def gini_and_median(persons: list[tuple[int, Fraction]]) -> tuple[Fraction | None, Fraction | None]:
    """The spec's definitions, literally: O(n^2) gini, person-weighted lower median."""
    total = sum(n for n, _ in persons)
    if total == 0:
        return None, None
    mean = sum(n * y for n, y in persons) / total
    spread = sum(a * b * abs(x - y) for a, x in persons for b, y in persons)
    cumulative, median = 0, None
    for n, y in sorted(persons, key=lambda p: p[1]):
        cumulative += n
        if 2 * cumulative >= total:
            median = y
            break
    return spread / (2 * total * total * mean), median


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build the marts once for the module on the random sample."""
    con = module_connection(tmp_path_factory.mktemp("reference"))
    w = World(con)
    data = generate(w)
    w.build()
    yield con, reference(con, data)
    con.close()


def frame(con, table: str) -> list[dict]:
    """All rows of ``table`` as dicts."""
    cursor = con.execute(f"select * from {table}")
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_periods(built):
    con, expected = built
    periods = dict(con.execute("select period, snapshot from int_periods").fetchall())
    assert periods == expected["periods"]
    assert len(periods) >= 10


def test_kelurahan_poverty_matches_reference(built):
    con, expected = built
    rows = frame(con, "kelurahan_poverty")
    assert len(rows) == len(expected["periods"]) * 32
    for row in rows:
        cell = expected["cells"][("poverty", row["period"], row["area_code"])]
        key = (row["period"], row["area_code"])
        for column in (
            "population", "households", "poor_population", "poor_households",
            "extreme_poor_population", "near_poor_population", "households_desil_1_4",
            "poor_households_unreached", "mpi_population", "mpi_poor_population",
        ):  # fmt: skip
            assert row[column] == cell[column], (key, column)
        assert row["mpi_incomplete_population"] == cell["population"] - cell["mpi_population"]
        assert row["poverty_gap_idr_month"] == cell["gap"], key
        gini, median = gini_and_median(expected["distribution"][key])
        if gini is None:
            assert row["gini"] is row["median_expenditure_idr"] is None, key
        else:
            assert row["gini"] == pytest.approx(float(gini), rel=1e-12, abs=1e-15), key
            assert row["median_expenditure_idr"] == median, key
        n = cell["population"]
        if n == 0:
            assert row["p0"] is row["p1"] is row["p2"] is row["mpi_h"] is None, key
            continue
        assert row["p0"] == pytest.approx(float(Fraction(cell["poor_population"], n)), rel=1e-12)
        assert row["p1"] == pytest.approx(
            float(Fraction(cell["gap"]) / Fraction(TEST_LINE * n)), 1e-12
        )
        assert row["p2"] == pytest.approx(float(cell["gap2"] / n), rel=1e-12)
        assert row["p2"] <= row["p1"] <= row["p0"], key
        n_mpi = cell["mpi_population"]
        if n_mpi == 0:
            assert row["mpi_h"] is row["mpi_m0"] is row["deprived_water"] is None, key
            continue
        assert row["mpi_h"] == pytest.approx(
            float(Fraction(cell["mpi_poor_population"], n_mpi)), rel=1e-12
        )
        assert row["mpi_m0"] == pytest.approx(
            float(Fraction(cell["mpi_score"], 18 * n_mpi)), 1e-12
        )
        if cell["mpi_poor_population"]:
            a = Fraction(cell["mpi_score"], 18 * cell["mpi_poor_population"])
            assert row["mpi_a"] == pytest.approx(float(a), rel=1e-12), key
        for k in ("schooling", "attendance", "insurance", "crowding", "housing", "water"):
            expected_rate = float(Fraction(cell[f"deprived_{k}"], n_mpi))
            assert row[f"deprived_{k}"] == pytest.approx(expected_rate, rel=1e-12), (key, k)


def test_program_reach_matches_reference(built):
    con, expected = built
    rows = frame(con, "program_reach")
    assert len(rows) == len(expected["periods"]) * 32 * 9
    checked = 0
    for row in rows:
        cell = expected["cells"][("reach", row["period"], row["area_code"], row["program"])]
        key = (row["period"], row["area_code"], row["program"])
        for column in (
            "recipient_households", "amount_idr", "target_households",
            "recipient_target_households", "poor_households", "recipient_poor_households",
            "recipient_consumption_idr_year", "unmatched_records", "unmatched_amount_idr",
            "failed_records", "failed_amount_idr",
        ):  # fmt: skip
            assert row[column] == cell[column], (key, column)
        window = expected["cells"][("window", row["period"], row["program"])]["v"]
        assert row["window_months_with_records"] == window, key
        r, t = row["recipient_households"], row["target_households"]
        if t:
            assert row["coverage_target"] + row["exclusion_error"] == pytest.approx(1.0)
        if r:
            checked += 1
            consumption = row["recipient_consumption_idr_year"]
            if not expected["cash"][row["program"]]:  # catalog adequacy = false
                assert row["adequacy"] is None, key
            elif consumption:
                ratio = float(Fraction(row["amount_idr"]) / Fraction(consumption))
                assert row["adequacy"] == pytest.approx(ratio, rel=1e-12), key
        else:
            assert row["inclusion_error"] is None and row["adequacy"] is None, key
    assert checked > 100


def test_overlap_incidence_and_funding_match_reference(built):
    con, expected = built
    cells = expected["cells"]
    for row in frame(con, "program_overlap"):
        cell = cells[("overlap", row["period"], row["area_code"])]
        for group in ("poor", "target"):
            buckets = [row[f"{group}_programs_{k}"] for k in ("0", "1", "2", "3plus")]
            assert buckets == [cell[f"{group}_{k}"] for k in range(4)]
            assert sum(buckets) == row[f"{group}_households"]
    for row in frame(con, "program_incidence"):
        cell = cells[("incidence", row["period"], row["program"], row["desil"])]
        assert (row["recipient_households"], row["amount_idr"]) == (
            cell["recipient_households"],
            cell["amount_idr"],
        )
    totals = con.execute(
        "select program, period, sum(beneficiary_incidence) from program_incidence "
        "group by all having sum(recipient_households) > 0"
    ).fetchall()
    assert all(s == pytest.approx(1.0) for _, _, s in totals)
    for row in frame(con, "funding_sources"):
        cell = cells[("fund", row["period"], row["area_code"], row["funding_source"])]
        assert row["recipient_households"] == cell["recipient_households"]
        assert row["amount_idr"] == cell["amount_idr"]
        assert row["unmatched_records"] == cell["unmatched_records"]
        assert row["unmatched_amount_idr"] == cell["unmatched_amount_idr"]
