"""Budget what-if (tkpk.simulate): hand-worked households, an independent reference
implementation on random households, scenario-file errors and the command.

Test line from 2031-01: z = 500,000 and z_e = 300,000 rupiah per person per month.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import duckdb
import numpy as np
import pandas as pd
import pytest
from marts_support import CITY, KEL_KRAPYAK, KEL_MEDONO, World, module_connection
from typer.testing import CliRunner

from tkpk.cli import app
from tkpk.simulate import (
    RESULT_COLUMNS,
    ScenarioError,
    load_scenarios,
    parse_scenario,
    parse_scenarios,
    run_scenarios,
)
from transforms.runner import build_model

EXACT = {"rel": 1e-12, "abs": 1e-12}


def scenario(**keys) -> object:
    """A validated scenario of period 2031-03 with the given keys."""
    raw = {"name": "s", "period": "2031-03", "budget_idr_month": 0, "eligible": "poor",
           "rule": "flat"} | keys
    return parse_scenario(raw)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    """Six households of snapshot 2031-03 (z = 500,000, z_e = 300,000):

    Medono:   A y=100,000 n=2 desil 1  poor, extreme; gap 2 x 400,000 = 800,000
              B y=400,000 n=1 desil 2  poor; gap 100,000; received PKH (not unreached)
              C y=450,000 n=2 desil 3  poor; gap 2 x 50,000 = 100,000; uninsured (MPI poor)
              D y=600,000 n=3 desil 2  not poor
    Krapyak:  E y=250,000 n=1 desil 1  poor, extreme; gap 250,000
    Podosugih: F y=700,000 desil 1, no accepted member (n = 0): eligible, but has no persons
    City: N = 9, poor 6 persons, poverty gap 1,250,000.
    """
    w = World(module_connection(tmp_path_factory.mktemp("simulate")))
    w.snapshot("2031-03")
    w.household("2031-03", 100_000, KEL_MEDONO, members=2, desil=1)
    _, niks = w.household("2031-03", 400_000, KEL_MEDONO, members=1, desil=2)
    w.household("2031-03", 450_000, KEL_MEDONO, desil=3,
                members=[{"jkn": 0}, {}])
    w.household("2031-03", 600_000, KEL_MEDONO, members=3, desil=2)
    w.household("2031-03", 250_000, KEL_KRAPYAK, members=1, desil=1)
    w.household("2031-03", 700_000, "33.75.01.1003", members=[], desil=1)
    w.record("PKH", "2031-02", nik=niks[0])
    w.build()
    yield w
    w.con.close()


def rows(world: World, **keys) -> dict[str, dict]:
    """area_code -> result row of one scenario."""
    frame = run_scenarios(world.con, [scenario(**keys)])
    return {r["area_code"]: r for r in frame.to_dict("records")}


def test_columns_are_exactly_the_documented_ones(world):
    from tkpk.publish.dictionary import SIMULATION_RESULTS

    frame = run_scenarios(world.con, [scenario(budget_idr_month=1)])
    assert list(frame.columns) == list(RESULT_COLUMNS) == SIMULATION_RESULTS.names
    levels = frame.groupby("area_level").size().to_dict()
    assert levels == {"kelurahan": 27, "kecamatan": 4, "kota": 1}


def test_lift_closest_by_hand(world):
    # gaps sorted: B 100,000 then C 100,000 (tie: B's ID_KELUARGA is smaller), E 250,000,
    # A 800,000. Running sums 100,000, 200,000, 450,000 > 250,000: B and C are lifted, E does
    # not fit and ends the process (A, larger, could not fit either); 50,000 stays unspent.
    r = rows(world, rule="lift_closest", budget_idr_month=250_000)
    city, medono, krapyak = r[CITY], r[KEL_MEDONO], r[KEL_KRAPYAK]
    assert city["spent_idr_month"] == pytest.approx(200_000, abs=0.01)
    assert (city["poor_population_before"], city["poor_population_after"]) == (6, 3)
    assert city["persons_lifted"] == 3
    assert city["p0_before"] == pytest.approx(6 / 9, **EXACT)
    assert city["p0_after"] == pytest.approx(3 / 9, **EXACT)
    assert city["leakage"] == 0
    assert city["cost_per_person_lifted_idr_month"] == pytest.approx(200_000 / 3)
    # gap 1,250,000 before, 1,050,000 after (A and E remain)
    assert city["gap_closed"] == pytest.approx(1 - 1_050_000 / 1_250_000, **EXACT)
    assert (medono["spent_idr_month"], medono["persons_lifted"]) == (200_000, 3)
    assert (krapyak["spent_idr_month"], krapyak["persons_lifted"]) == (0, 0)
    assert krapyak["cost_per_person_lifted_idr_month"] is None or pd.isna(
        krapyak["cost_per_person_lifted_idr_month"])


def test_fill_bottom_by_hand(world):
    # eligible poor below the line: A 100,000 (2), E 250,000 (1), B 400,000 (1), C 450,000 (2).
    # Cost to L: 2 (L - 100,000) up to 250,000 (= 300,000), then 3 L - 450,000 up to 400,000
    # (= 750,000 > 600,000): L = (600,000 + 450,000) / 3 = 350,000.
    r = rows(world, rule="fill_bottom", budget_idr_month=600_000)
    city, medono = r[CITY], r[KEL_MEDONO]
    assert city["spent_idr_month"] == pytest.approx(600_000, abs=0.01)
    assert medono["spent_idr_month"] == pytest.approx(500_000, abs=0.01)  # A: 2 x 250,000
    assert r[KEL_KRAPYAK]["spent_idr_month"] == pytest.approx(100_000, abs=0.01)
    assert city["persons_lifted"] == 0
    assert city["extreme_p0_before"] == pytest.approx(3 / 9, **EXACT)
    assert city["extreme_p0_after"] == 0  # A and E now at 350,000 > 300,000
    # P1 after: A 2 x 0.3, E 0.3, B 0.2, C 2 x 0.1 = 1.3; before 2 x 0.8 + 0.5 + 0.2 + 0.2 = 2.5
    assert city["p1_before"] == pytest.approx(2.5 / 9, **EXACT)
    assert city["p1_after"] == pytest.approx(1.3 / 9, **EXACT)
    assert city["p2_after"] == pytest.approx((2 * 0.09 + 0.09 + 0.04 + 2 * 0.01) / 9, **EXACT)
    assert city["gap_closed"] == pytest.approx(1 - 650_000 / 1_250_000, **EXACT)
    assert pd.isna(city["cost_per_person_lifted_idr_month"])
    # perfect-targeting floor of extreme poverty: A 2 x 200,000 + E 50,000
    assert city["budget_to_end_extreme_poverty_idr_month"] == 450_000
    assert medono["budget_to_end_extreme_poverty_idr_month"] == 400_000


def test_fill_bottom_with_enough_budget_ends_at_the_line(world):
    r = rows(world, rule="fill_bottom", budget_idr_month=10_000_000)
    city = r[CITY]
    assert city["spent_idr_month"] == pytest.approx(1_250_000, abs=0.01)  # the whole gap
    assert (city["poor_population_after"], city["persons_lifted"]) == (0, 6)
    assert city["p1_after"] == 0 and city["gap_closed"] == 1


def test_fill_bottom_limited_to_one_kelurahan(world):
    r = rows(world, rule="fill_bottom", budget_idr_month=100_000, kelurahan=[KEL_KRAPYAK])
    assert r[KEL_KRAPYAK]["spent_idr_month"] == pytest.approx(100_000, abs=0.01)
    assert r[KEL_MEDONO]["spent_idr_month"] == 0
    assert r[KEL_MEDONO]["p1_after"] == r[KEL_MEDONO]["p1_before"]


def test_flat_by_hand(world):
    # desil <= 2: A, B, D, E and F (no member, not poor): 1,125,000 / 5 = 225,000 each.
    # A 212,500 (poor, extreme), B 625,000 (lifted), D and F leak, E 475,000 (poor, not extreme)
    r = rows(world, rule="flat", eligible="desil_max", desil_max=2, budget_idr_month=1_125_000)
    city, medono, krapyak = r[CITY], r[KEL_MEDONO], r[KEL_KRAPYAK]
    assert city["spent_idr_month"] == pytest.approx(1_125_000, abs=0.01)
    assert city["spent_on_poor_idr_month"] == pytest.approx(675_000, abs=0.01)
    assert city["leakage"] == pytest.approx(0.4, **EXACT)
    assert city["persons_lifted"] == 1
    assert city["cost_per_person_lifted_idr_month"] == pytest.approx(1_125_000, abs=0.01)
    assert r["33.75.01.1003"]["spent_idr_month"] == pytest.approx(225_000, abs=0.01)
    assert city["extreme_p0_after"] == pytest.approx(2 / 9, **EXACT)
    assert medono["leakage"] == pytest.approx(1 / 3, **EXACT)
    assert medono["cost_per_person_lifted_idr_month"] == pytest.approx(675_000, abs=0.01)
    assert krapyak["spent_idr_month"] == pytest.approx(225_000, abs=0.01)
    assert pd.isna(krapyak["cost_per_person_lifted_idr_month"])


def test_per_capita_extreme_by_hand(world):
    # A (2 persons) and E (1): 100,000 per person. A 200,000 (still extreme), E 350,000
    r = rows(world, rule="per_capita", eligible="extreme", budget_idr_month=300_000)
    city = r[CITY]
    assert r[KEL_MEDONO]["spent_idr_month"] == pytest.approx(200_000, abs=0.01)
    assert city["extreme_p0_after"] == pytest.approx(2 / 9, **EXACT)
    assert city["poor_population_after"] == 6


def test_mpi_poor_reaching_the_line_exactly_is_not_poor(world):
    # C alone (uninsured member: c = 6/18): 100,000 / 2 persons = 50,000 -> exactly z
    r = rows(world, rule="flat", eligible="mpi_poor", budget_idr_month=100_000)
    assert r[CITY]["persons_lifted"] == 2
    assert r[CITY]["poor_population_after"] == 4


def test_unreached_poor_leaves_out_the_pkh_recipient(world):
    # A, C, E (B received PKH): 100,000 each
    r = rows(world, rule="flat", eligible="unreached_poor", budget_idr_month=300_000)
    assert r[KEL_MEDONO]["spent_idr_month"] == pytest.approx(200_000, abs=0.01)
    assert r[KEL_KRAPYAK]["spent_idr_month"] == pytest.approx(100_000, abs=0.01)


def test_nothing_spent_gives_null_leakage(world):
    r = rows(world, rule="flat", eligible="mpi_poor", budget_idr_month=0)
    assert pd.isna(r[CITY]["leakage"]) and r[CITY]["gap_closed"] == 0


# ----------------------------------------------------------------- independent reference


def reference(households: pd.DataFrame, areas: dict[str, list[str]], s: dict) -> pd.DataFrame:
    """A plain numpy/Python implementation of the spec (indicators.md, "Budget what-if"):
    L of fill_bottom by bisection, lift_closest by a Python loop."""
    h = households.reset_index(drop=True)
    y, z, ze, n = (h[c].to_numpy(float) for c in ("y", "z", "ze", "n"))
    poor, extreme = y < z, y < ze
    rule, budget = s["rule"], float(s["budget_idr_month"])
    eligible = {
        "desil_max": h["desil"].to_numpy() <= s.get("desil_max", 0),
        "poor": poor,
        "extreme": extreme,
        "mpi_poor": h["mpi_poor"].to_numpy(bool),
        "unreached_poor": poor & (h["program_count"].to_numpy() == 0),
    }[s["eligible"]]
    if "kelurahan" in s:
        eligible &= h["kelurahan_code"].isin(s["kelurahan"]).to_numpy()
    t = np.zeros(len(h))
    at_line = np.zeros(len(h), bool)
    if rule == "flat" and eligible.any():
        t[eligible] = budget / eligible.sum()
    elif rule == "per_capita" and eligible.any():
        t[eligible] = budget * n[eligible] / n[eligible].sum()
    elif rule == "lift_closest":
        order = sorted(np.flatnonzero(eligible & poor),
                       key=lambda i: (n[i] * (z[i] - y[i]), h["id_keluarga"][i]))
        left = budget
        for i in order:
            gap = n[i] * (z[i] - y[i])
            if gap > left + 1e-6:
                break
            left -= gap
            t[i], at_line[i] = gap, True
    elif rule == "fill_bottom":
        c = eligible & poor

        def cost(level: float) -> float:
            return float((n[c] * np.clip(np.minimum(level, z[c]) - y[c], 0, None)).sum())

        low, high = 0.0, float(z[c].max()) if c.any() else 0.0
        if cost(high) <= budget:
            low = high
        else:
            for _ in range(200):
                mid = (low + high) / 2
                low, high = (mid, high) if cost(mid) <= budget else (low, mid)
        at_line = c & (np.array([cost(v) for v in z]) <= budget)
        raised = np.where(at_line, z, np.maximum(y, np.minimum(low, z)))
        t = np.where(c, n * (raised - y), 0.0)
    y_after = np.where(at_line, z, y + np.divide(t, n, out=np.zeros(len(h)), where=n > 0))
    poor_after = np.where(at_line, False, y_after < z)
    gap = np.where(poor, z - y, 0.0)
    gap_after = np.where(poor_after, z - y_after, 0.0)
    frame = pd.DataFrame({
        "kelurahan_code": h["kelurahan_code"], "n": n, "t": t, "poor": poor * n,
        "poor_after": poor_after * n, "extreme": extreme * n, "extreme_after": (y_after < ze) * n,
        "p1": n * gap / z, "p1_after": n * gap_after / z, "p2": n * (gap / z) ** 2,
        "p2_after": n * (gap_after / z) ** 2, "gap": n * gap, "gap_after": n * gap_after,
        "lifted": (poor & ~poor_after) * n, "spent_on_poor": np.where(poor, t, 0.0),
        "end_extreme": np.where(extreme, n * (ze - y), 0.0),
    })
    out = []
    for code, kelurahan in areas.items():
        a = frame[frame["kelurahan_code"].isin(kelurahan)].sum(numeric_only=True)
        pop = a["n"]

        def ratio(value: float, pop: float = pop) -> float:
            return value / pop if pop > 0 else np.nan

        out.append({
            "area_code": code,
            **{f"{f}_{w}": ratio(a[f + ("_after" if w == "after" else "")])
               for f, w in [(f, w) for f in ("p1", "p2") for w in ("before", "after")]},
            "p0_before": ratio(a["poor"]), "p0_after": ratio(a["poor_after"]),
            "extreme_p0_before": ratio(a["extreme"]), "extreme_p0_after": ratio(a["extreme_after"]),
            "poor_population_before": a["poor"], "poor_population_after": a["poor_after"],
            "persons_lifted": a["lifted"], "spent_idr_month": a["t"],
            "spent_on_poor_idr_month": a["spent_on_poor"],
            "leakage": 1 - a["spent_on_poor"] / a["t"] if a["t"] > 0 else np.nan,
            "gap_closed": 1 - a["gap_after"] / a["gap"] if a["gap"] > 0 else np.nan,
            "cost_per_person_lifted_idr_month": a["t"] / a["lifted"] if a["lifted"] > 0 else np.nan,
            "budget_to_end_extreme_poverty_idr_month": a["end_extreme"],
        })
    return pd.DataFrame(out).set_index("area_code")


RUPIAH = ("spent_idr_month", "spent_on_poor_idr_month", "cost_per_person_lifted_idr_month",
          "budget_to_end_extreme_poverty_idr_month")


@pytest.fixture(scope="module")
def random_world(tmp_path_factory):
    """2,000 random households straight into int_household_status (two lines: the kelurahan
    of kecamatan 33.75.04 get z = 520,000.50, the others 500,000), with the area bridge."""
    con = module_connection(tmp_path_factory.mktemp("simulate_random"))
    rng = np.random.default_rng(13)
    kelurahan = [r[0] for r in con.execute(
        "select code from ref_area where level = 'kelurahan' order by code").fetchall()]
    size = 2000
    frame = pd.DataFrame({
        "period": date(2031, 3, 1),
        "id_keluarga": [f"K{i:07d}" for i in rng.permutation(size)],
        "kelurahan_code": rng.choice(kelurahan, size),
        "household_size": rng.integers(0, 8, size),
        "desil": rng.integers(1, 11, size),
        # cents, mostly around the line; some ties of y
        "y": np.round(rng.gamma(4, 140_000, size), 2),
        "mpi_poor": rng.random(size) < 0.3,
        "program_count": rng.integers(0, 3, size),
    })
    frame.loc[:50, "y"] = 350_000.0
    frame["z"] = np.where(frame["kelurahan_code"].str.startswith("33.75.04"), 520_000.5, 500_000)
    frame["ze"] = 300_000.0
    con.register("frame", frame)
    con.execute("""
        create table int_household_status as
        select period, id_keluarga, kelurahan_code, cast(household_size as integer)
            as household_size, cast(desil as tinyint) as desil,
            cast(y as decimal(18, 2)) as pengeluaran_per_kapita,
            cast(z as decimal(18, 2)) as poverty_line_idr,
            cast(ze as decimal(18, 2)) as extreme_poverty_line_idr,
            y < z as poor, y < ze as extreme_poor, mpi_poor, program_count
        from frame
    """)
    build_model(con, "int_area_hierarchy")
    bridge = con.execute("select area_code, list(kelurahan_code) from int_area_hierarchy "
                         "group by area_code").fetchall()
    areas = {code: [k for k in kels if k is not None] for code, kels in bridge}
    households = frame.rename(columns={"household_size": "n"})
    yield con, households, areas
    con.close()


SCENARIOS = [
    {"rule": rule, "eligible": eligible, "budget_idr_month": budget, **extra}
    for rule in ("flat", "per_capita", "lift_closest", "fill_bottom")
    for eligible, extra in (
        ("poor", {}), ("desil_max", {"desil_max": 3}), ("extreme", {}), ("mpi_poor", {}),
        ("unreached_poor", {"kelurahan": ["33.75.01.1002", "33.75.04.1002", "33.75.02.1004"]}),
    )
    for budget in (0, 7_654_321.5, 95_000_000, 10**10)
]


@pytest.mark.parametrize("keys", SCENARIOS, ids=lambda k: f"{k['rule']}-{k['eligible']}-"
                         f"{k['budget_idr_month']}")
def test_equals_the_reference_implementation(random_world, keys):
    con, households, areas = random_world
    s = scenario(**keys)
    result = run_scenarios(con, [s]).set_index("area_code")
    expected = reference(households, areas, keys)
    assert set(expected.index) <= set(result.index)
    for column in expected.columns:
        got = result.loc[expected.index, column].astype(float)
        want = expected[column].astype(float)
        assert (got.isna() == want.isna()).all(), column
        tolerance = 0.01 if column in RUPIAH else 1e-9
        difference = (got - want).abs().max()
        assert not difference > tolerance, f"{column}: off by {difference}"


# ----------------------------------------------------------------------- scenario files


GOOD = """
[[scenario]]
name = "Isi bawah"
period = "2031-03"
budget_idr_month = 600000
eligible = "poor"
rule = "fill_bottom"

[[scenario]]
name = "Desil"
period = "2031-03"
budget_idr_month = 900_000.5
eligible = "desil_max"
desil_max = 2
rule = "flat"
kelurahan = ["33.75.01.1002"]
"""


def test_a_good_file_parses(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    first, second = load_scenarios(path)
    assert (first.name, first.period, first.rule) == ("Isi bawah", date(2031, 3, 1), "fill_bottom")
    assert second.budget_idr_month == Decimal("900000.5")
    assert (second.desil_max, second.kelurahan) == (2, ("33.75.01.1002",))


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"rule": "cheapest"}, "rule"),
        ({"eligible": "everyone"}, "eligible"),
        ({"period": "2031-3"}, "period"),
        ({"budget_idr_month": "banyak"}, "budget_idr_month"),
        ({"budget_idr_month": -1}, "budget_idr_month"),
        ({"eligible": "desil_max"}, "desil_max"),
        ({"desil_max": 11, "eligible": "desil_max"}, "desil_max"),
        ({"kelurahan": "33.75.01.1002"}, "kelurahan"),
        ({"kelurahan": ["33.75.01.1002", 7]}, "kelurahan"),
        ({"anggaran": 1}, "anggaran"),
    ],
)
def test_bad_scenarios_name_the_scenario_and_the_key(change, key):
    good = {"name": "Lain", "period": "2031-03", "budget_idr_month": 1, "eligible": "poor",
            "rule": "flat"}
    raw = good | {"name": "Uji"} | change
    with pytest.raises(ScenarioError, match=rf"scenario 'Uji' \(#2\): key '{key}'"):
        parse_scenarios({"scenario": [good, raw]})


def test_lenient_keys():
    # desil_max beside another eligible group is ignored; an empty kelurahan list limits nothing
    s = scenario(desil_max=2, kelurahan=[])
    assert (s.desil_max, s.kelurahan) == (None, None)


def test_missing_key_and_duplicate_name():
    raw = {"name": "Uji", "period": "2031-03", "budget_idr_month": 1, "eligible": "poor"}
    with pytest.raises(ScenarioError, match="scenario 'Uji' \\(#1\\): key 'rule' is missing"):
        parse_scenarios({"scenario": [raw]})
    raw["rule"] = "flat"
    with pytest.raises(ScenarioError, match="#2\\): key 'name' repeats"):
        parse_scenarios({"scenario": [raw, raw]})


def test_period_and_kelurahan_are_checked_against_the_warehouse(world):
    with pytest.raises(ScenarioError, match="key 'period' 2030-01 is not a reported period"):
        run_scenarios(world.con, [scenario(period="2030-01")])
    with pytest.raises(ScenarioError, match="key 'kelurahan' names codes .*33.75.99.9999"):
        run_scenarios(world.con, [scenario(kelurahan=["33.75.99.9999"])])


# ------------------------------------------------------------------------------ command


def test_command_writes_results_chart_and_pdf(world, tmp_path, monkeypatch):
    """``tkpk simulate`` on a warehouse file whose state is the published one."""
    db = tmp_path / "warehouse.duckdb"
    world.con.execute(f"attach '{db}' as target")
    for table in ("int_household_status", "int_area_hierarchy", "ref_area"):
        world.con.execute(f"create table target.{table} as select * from {table}")
    world.con.execute("create table target.ingest_file (file_name varchar, sha256 varchar, "
                      "kind varchar, period date, file_outcome varchar)")
    world.con.execute("detach target")
    scenarios = tmp_path / "rakor.toml"
    scenarios.write_text(GOOD)
    out = tmp_path / "curated"
    monkeypatch.setenv("TKPK_TEMP", str(tmp_path / "tmp"))
    runner = CliRunner()
    refused = runner.invoke(app, ["simulate", "--scenarios", str(scenarios), "--out", str(out),
                                  "--db", str(db)])
    assert refused.exit_code == 2 and "no published pack" in refused.output
    (out / "restricted").mkdir(parents=True)
    (out / "restricted" / "manifest.json").write_text(json.dumps({"source_files": []}))
    done = runner.invoke(app, ["simulate", "--scenarios", str(scenarios), "--out", str(out),
                               "--db", str(db)])
    assert done.exit_code == 0, done.output
    folder = out / "simulations" / "rakor"
    frame = pd.read_parquet(folder / "simulation_results.parquet")
    assert list(frame.columns) == list(RESULT_COLUMNS)
    assert frame["scenario"].unique().tolist() == ["Isi bawah", "Desil"]
    city = frame[(frame["area_code"] == CITY) & (frame["scenario"] == "Isi bawah")].iloc[0]
    assert city["spent_idr_month"] == pytest.approx(600_000, abs=0.01)
    assert (folder / "simulation_perbandingan.png").stat().st_size > 10_000
    assert (folder / "simulation_ringkasan.pdf").read_bytes().count(b"/Type /Page\n") <= 1
    # the notebook helper gives the same rows for the same keys
    from tkpk import analysis
    from tkpk.config import Settings

    settings = Settings(curated_dir=out, warehouse=db, temp_dir=tmp_path / "tmp")
    again = analysis.simulate(settings=settings, name="Isi bawah", period="2031-03",
                              budget_idr_month=600000, eligible="poor", rule="fill_bottom")
    pd.testing.assert_frame_equal(
        again, frame[frame["scenario"] == "Isi bawah"].reset_index(drop=True))
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('rule = "flat"', 'rule = "murah"'))
    failed = runner.invoke(app, ["simulate", "--scenarios", str(bad), "--out", str(out),
                                 "--db", str(db)])
    assert failed.exit_code == 2
    assert "scenario 'Desil' (#2): key 'rule'" in failed.output


def test_read_only_connection_is_enough(world, tmp_path):
    db = tmp_path / "ro.duckdb"
    world.con.execute(f"attach '{db}' as ro")
    for table in ("int_household_status", "int_area_hierarchy", "ref_area"):
        world.con.execute(f"create table ro.{table} as select * from {table}")
    world.con.execute("detach ro")
    con = duckdb.connect(str(db), read_only=True)
    try:
        frame = run_scenarios(con, [scenario(rule="lift_closest", budget_idr_month=250_000)])
    finally:
        con.close()
    assert frame.loc[frame["area_code"] == CITY, "persons_lifted"].item() == 3
