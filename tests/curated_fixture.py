"""Small, consistent curated packs for the report and notebook tests (synthetic households only).

``write_curated_fixture(curated_dir)`` writes ``restricted/<table>.parquet`` and
``bappeda/<table>.parquet`` for the tables the report and notebooks read (``FIXTURE_TABLES``), with
the columns, column order and DuckDB types of the data dictionary (tkpk/publish/dictionary.py:
every column is cast to its dictionary type on export), for a few periods, every kelurahan of Kota
Pekalongan, its 4 kecamatan and the city.

The figures are not meant to test the marts: they come from about a thousand synthetic households
per period (deterministic hashes, no randomness) aggregated with ``GROUPING SETS``, so they are
internally consistent the way the real packs are: kecamatan and city rows are computed from the same
households as the kelurahan rows, p2 <= p1 <= p0, MPI figures are over the MPI sample
(``mpi_population``), overlap buckets add up to the poor households, incidence shares add up to 1.
The bappeda pack applies the primary disclosure rule of the indicators spec to the dictionary's
suppressible columns (counts 1-4, amounts over 1-4 units, ratios on denominators under 10 or
numerators of 1-4 published as null, each followed by a ``<column>_suppressed`` flag as
tkpk.publish writes them; no secondary suppression).

Usable from a test (``write_curated_fixture(tmp_path / "curated")``) or from the command line:
``python tests/curated_fixture.py OUT_DIR`` (e.g. to try ``tkpk report --out OUT_DIR``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from tkpk import reference
from tkpk.db import sql_literal
from tkpk.publish import dictionary

DEFAULT_PERIODS = ("2026-04", "2026-05", "2026-06")

#: Per-program probability of receipt for a target household and for anyone else, and the yearly
#: amount per recipient household (PBI-JK: the premium per member per month, times 12 months).
PROGRAM_BEHAVIOUR = {
    "PKH": (0.55, 0.06, 3_000_000),
    "BPNT": (0.65, 0.10, 2_400_000),
    "BLT": (0.25, 0.05, 400_000),
    "PIP": (0.30, 0.04, 750_000),
    "PBI_JK": (0.80, 0.15, None),
    "MODAL_USAHA": (0.06, 0.02, 2_000_000),
    "PELATIHAN": (0.05, 0.02, 0),
    "RTLH": (0.03, 0.005, 15_000_000),
    "ZAKAT": (0.08, 0.01, 3_000_000),
}

TRANSITION_STATES = ("stayed_poor", "entered_poverty", "exited_poverty", "stayed_non_poor")

#: The tables the fixture writes (the report and notebooks read them); their columns, column order,
#: DuckDB types, packs and disclosure rules are those of the data dictionary.
FIXTURE_TABLES = (
    "kelurahan_poverty", "program_reach", "program_incidence", "program_overlap",
    "funding_sources", "data_quality", "data_quality_reason", "households", "poverty_profile",
    "poverty_transitions",
)  # fmt: skip


@dataclass(frozen=True)
class CuratedFixture:
    """What was written: the output folder, the periods and the kelurahan names used."""

    curated_dir: Path
    periods: tuple[str, ...]
    kelurahan_names: dict[str, str]


def _areas(renames: dict[str, str]) -> pd.DataFrame:
    """Reference areas of the city, with ``renames`` (code -> name) applied."""
    areas = reference.load_areas()
    areas["name"] = [
        renames.get(code, name) for code, name in zip(areas.code, areas.name, strict=True)
    ]
    return areas


def _poverty_line(period: str) -> tuple[float, float | None, str, str, str]:
    """The city's poverty line in force for ``period`` (latest ``effective_from`` <= period;
    the packaged lines have no two on one date): line, extreme line, status, effective_from
    (first of the month) and scope."""
    lines = pd.read_csv(reference.POVERTY_LINES_CSV, dtype=str, keep_default_na=False)
    lines = lines[lines["area_code"].isin(["00", "33", "33.75"])].sort_values("effective_from")
    row = lines[lines["effective_from"] <= period].iloc[-1]
    extreme = row["extreme_line_idr_per_capita_month"]
    scope = {"00": "national", "33": "province"}.get(row["area_code"], "kabkota")
    return (
        float(row["line_idr_per_capita_month"]), float(extreme) if extreme else None, row.status,
        row["effective_from"] + "-01", scope,
    )


def _build_households(con: duckdb.DuckDBPyConnection, periods: tuple[str, ...]) -> None:
    """Table ``hh``: period x synthetic household with poverty and deprivation flags."""
    lines = pd.DataFrame(  # noqa: F841  (read by DuckDB)
        [(p + "-01", *_poverty_line(p)) for p in periods],
        columns=["period", "line", "extreme_line", "line_status", "line_from", "line_scope"],
    )
    con.execute(
        """
        create or replace table hh as
        with kel as (
            select code, name, kecamatan_code,
                   row_number() over (order by code) as k
            from areas where level = 'kelurahan'
        ),
        periods as (
            select cast(period as date) as period, line, extreme_line, line_status,
                   cast(line_from as date) as line_from, line_scope,
                   row_number() over (order by period) - 1 as t
            from lines
        ),
        base as (
            -- 60 to 120 households per kelurahan, identical ids in every period
            select kel.*, h.h, code || '-' || h.h as household_id
            from kel, range(1, 121) as h(h)
            where h.h <= 60 + (kel.k * 7) % 61
        ),
        drawn as (
            select b.*, p.period, p.line, p.extreme_line, p.line_status, p.line_from,
                   p.line_scope, p.t,
                   1 + hash(household_id, 'size') % 6 as household_size,
                   (hash(household_id, 'y') % 100000) / 100000.0 as u_y,
                   (hash(household_id, p.t, 'drift') % 1000) / 1000.0 as u_drift
            from base b cross join periods p
        ),
        spending as (
            select *,
                   round((355000 + 1800000 * u_y) * (0.90 + (k % 9) * 0.035)
                         * (0.96 + 0.03 * t + 0.04 * u_drift), 2) as y
            from drawn
        ),
        final as (
            select *,
                   ntile(10) over (partition by period order by y, household_id) as desil,
                   y < line as poor,
                   case when extreme_line is null then null else y < extreme_line end
                       as extreme_poor,
                   y >= line and y < 1.2 * line as near_poor
            from spending
        )
        select * from final
        """
    )
    # Deprivations are likelier among the poor; the MPI score is kept in eighteenths. About one
    # household in 25 misses an indicator: it leaves the MPI sample (mpi_complete false), whose
    # persons every MPI figure is over.
    con.execute(
        """
        create or replace table hh_mpi as
        with flags as (
            select *,
                   (case when poor then 0.40 else 0.08 end) as q,
                   (hash(household_id, t, 'd1') % 1000) / 1000.0 < q as d_schooling,
                   (hash(household_id, t, 'd2') % 1000) / 1000.0 < q * 0.6 as d_attendance,
                   (hash(household_id, t, 'd3') % 1000) / 1000.0 < q * 0.8 as d_insurance,
                   (hash(household_id, t, 'd4') % 1000) / 1000.0 < q * 0.1 as d_electricity,
                   (hash(household_id, t, 'd5') % 1000) / 1000.0 < q * 0.5 as d_water,
                   (hash(household_id, t, 'd6') % 1000) / 1000.0 < q * 0.7 as d_sanitation,
                   (hash(household_id, t, 'd7') % 1000) / 1000.0 < q * 0.9 as d_housing,
                   (hash(household_id, t, 'd8') % 1000) / 1000.0 < q * 0.4 as d_cooking_fuel,
                   (hash(household_id, t, 'd9') % 1000) / 1000.0 < q * 1.2 as d_crowding,
                   hash(household_id, t, 'mpi') % 25 <> 0 as mpi_complete
            from hh
        ),
        final as (
            select *,
                   3 * d_schooling::int + 3 * d_attendance::int + 6 * d_insurance::int
                   + d_electricity::int + d_water::int + d_sanitation::int + d_housing::int
                   + d_cooking_fuel::int + d_crowding::int as score18,
                   mpi_complete and score18 >= 6 as mpi_poor
            from flags
        )
        select * from final
        """
    )


def _build_receipts(con: duckdb.DuckDBPyConnection) -> None:
    """Table ``rx``: period x household x program with recipient flag, amount and funding."""
    behaviour = pd.DataFrame(  # noqa: F841
        [(code, *values) for code, values in PROGRAM_BEHAVIOUR.items()],
        columns=["program", "p_target", "p_other", "yearly_amount"],
    )
    con.execute(
        """
        create or replace table rx as
        with joined as (
            select h.period, h.household_id, h.code, h.kecamatan_code, h.household_size, h.y,
                   h.desil, h.poor, h.t, h.line, h.line_status, h.line_from, h.line_scope,
                   p.code as program, p.name as program_name, p.funding, p.target_desil_max,
                   p.premium_idr_per_member_month as premium, b.p_target, b.p_other,
                   b.yearly_amount,
                   h.desil <= p.target_desil_max as target,
                   (hash(h.household_id, p.code, h.t // 2) % 10000) / 10000.0 as u
            from hh h cross join programs p join behaviour b on b.program = p.code
        ),
        final as (
            select *,
                   -- about one household in six is invisible to every program
                   u < case when target then p_target else p_other end
                       * case when hash(household_id, 'visible') % 100 < 16 then 0.02 else 1 end
                       as recipient,
                   cast(case when yearly_amount is null then premium * 12 * household_size
                             else yearly_amount end as decimal(18, 2)) as amount,
                   case when program = 'PBI_JK' and hash(household_id, 'seg') % 4 = 0 then 'APBD'
                        when program = 'RTLH' and hash(household_id, 'dak') % 3 = 0 then 'DAK'
                        when program = 'MODAL_USAHA' and hash(household_id, 'csr') % 3 = 0
                            then 'CSR'
                        else funding end as funding_source,
                   hash(household_id, program, t, 'fail') % 40 = 0 as failed,
                   hash(household_id, program, t, 'unm') % 60 = 0 as unmatched
            from joined
        )
        select * from final
        """
    )
    con.execute(
        """
        create or replace table hh_programs as
        with final as (
            select period, household_id,
                   count(*) filter (where recipient) as program_count,
                   list(program order by program) filter (where recipient) as programs_received
            from rx group by all
        )
        select * from final
        """
    )


_AREA_SELECT = """
    h.period,
    case when grouping(h.code) = 0 then 'kelurahan'
         when grouping(h.kecamatan_code) = 0 then 'kecamatan' else 'kota' end as area_level,
    coalesce(h.code, h.kecamatan_code, '33.75') as area_code,
    h.kecamatan_code as kecamatan_code,
    h.period as snapshot
"""


def _area_table(con: duckdb.DuckDBPyConnection, name: str, body: str, extra_key: str = "") -> None:
    """Create ``name`` from an aggregate ``body`` over ``h`` grouped into kelurahan, kecamatan
    and city rows (from the same households), and attach the area names."""
    keys = f"h.period, {extra_key}" if extra_key else "h.period"
    grouping = (
        f"group by grouping sets (({keys}, h.code, h.kecamatan_code), "
        f"({keys}, h.kecamatan_code), ({keys}))"
    )
    con.execute(
        f"""
        create or replace table {name} as
        with grouped as ({body.format(area=_AREA_SELECT, grouping=grouping)}),
        final as (
            select g.*, a.name as area_name from grouped g join areas a on a.code = g.area_code
        )
        select * from final
        """
    )


def _build_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Every curated table as a DuckDB table named after it."""
    _area_table(
        con,
        "kelurahan_poverty",
        """
        select {area},
            any_value(h.line)::decimal(18, 2) as poverty_line_idr,
            any_value(h.extreme_line)::decimal(18, 2) as extreme_poverty_line_idr,
            any_value(h.line_status) as poverty_line_status,
            any_value(h.line_from) as poverty_line_effective_from,
            any_value(h.line_scope) as poverty_line_scope,
            sum(household_size)::bigint as population,
            count(*)::bigint as households,
            coalesce(sum(household_size) filter (where poor), 0)::bigint as poor_population,
            count(*) filter (where poor)::bigint as poor_households,
            coalesce(sum(household_size) filter (where poor), 0) / sum(household_size) as p0,
            coalesce(sum(household_size * (line - y) / line) filter (where poor), 0)
                / sum(household_size) as p1,
            coalesce(sum(household_size * pow((line - y) / line, 2)) filter (where poor), 0)
                / sum(household_size) as p2,
            coalesce(sum(household_size * (line - y)) filter (where poor), 0)::decimal(18, 2)
                as poverty_gap_idr_month,
            coalesce(sum(household_size) filter (where extreme_poor), 0)::bigint
                as extreme_poor_population,
            coalesce(sum(household_size) filter (where extreme_poor), 0) / sum(household_size)
                as extreme_p0,
            coalesce(sum(household_size) filter (where near_poor), 0)::bigint
                as near_poor_population,
            count(*) filter (where desil <= 4)::bigint as households_desil_1_4,
            count(*) filter (where poor and p.program_count = 0)::bigint
                as poor_households_unreached,
            coalesce(sum(household_size) filter (where mpi_complete), 0)::bigint
                as mpi_population,
            population - mpi_population as mpi_incomplete_population,
            coalesce(sum(household_size) filter (where mpi_poor), 0)::bigint
                as mpi_poor_population,
            mpi_poor_population / nullif(mpi_population, 0) as mpi_h,
            sum(household_size * score18 / 18.0) filter (where mpi_poor)
                / sum(household_size) filter (where mpi_poor) as mpi_a,
            coalesce(sum(household_size * score18 / 18.0) filter (where mpi_poor), 0)
                / nullif(mpi_population, 0) as mpi_m0,
            sum(household_size * d_schooling::int) filter (where mpi_complete)
                / nullif(mpi_population, 0) as deprived_schooling,
            sum(household_size * d_attendance::int) filter (where mpi_complete)
                / nullif(mpi_population, 0) as deprived_attendance,
            sum(household_size * d_insurance::int) filter (where mpi_complete)
                / nullif(mpi_population, 0) as deprived_insurance,
            sum(household_size * d_electricity::int) filter (where mpi_complete)
                / nullif(mpi_population, 0) as deprived_electricity,
            sum(household_size * d_water::int) filter (where mpi_complete)
                / nullif(mpi_population, 0) as deprived_water,
            sum(household_size * d_sanitation::int) filter (where mpi_complete)
                / nullif(mpi_population, 0) as deprived_sanitation,
            sum(household_size * d_housing::int) filter (where mpi_complete)
                / nullif(mpi_population, 0) as deprived_housing,
            sum(household_size * d_cooking_fuel::int) filter (where mpi_complete)
                / nullif(mpi_population, 0) as deprived_cooking_fuel,
            sum(household_size * d_crowding::int) filter (where mpi_complete)
                / nullif(mpi_population, 0) as deprived_crowding
        from hh_mpi h join hh_programs p using (period, household_id)
        {grouping}
        """,
    )
    # gini and the person-weighted lower median from each area's households (C: the cumulative
    # person weight in order of y; sum_h sum_g n_h n_g |y_h - y_g| = 2 sum_h n_h y_h (2C - n_h - N))
    con.execute(
        """
        create or replace table area_spending as
        with expanded as (
            select period, unnest([code, kecamatan_code, '33.75']) as area_code, household_id,
                   household_size as n, y
            from hh
        ),
        cumulative as (
            select *,
                   sum(n) over (partition by period, area_code order by y, household_id
                                rows between unbounded preceding and current row) as c,
                   sum(n) over (partition by period, area_code) as total
            from expanded
        ),
        final as (
            select period, area_code,
                   sum(n * y * (2 * c - n - total)) / (any_value(total) * sum(n * y)) as gini,
                   min(y) filter (where c >= total / 2.0) as median_expenditure_idr
            from cumulative group by all
        )
        select * from final
        """
    )
    con.execute(
        """
        create or replace table kelurahan_poverty as
        select k.*, s.gini, s.median_expenditure_idr
        from kelurahan_poverty k join area_spending s using (period, area_code)
        """
    )
    # BPS's official series on the city row (reference/official_poverty.csv, March 2024)
    con.execute(
        """
        alter table kelurahan_poverty add column official_p0 double;
        alter table kelurahan_poverty add column official_year integer;
        alter table kelurahan_poverty add column registry_coverage double;
        update kelurahan_poverty set official_p0 = 0.0671, official_year = 2024,
            registry_coverage = population / 318182.0
        where area_level = 'kota';
        """
    )
    _area_table(
        con,
        "program_reach",
        """
        select {area}, h.program, any_value(h.program_name) as program_name,
            any_value(h.line) as poverty_line_idr,
            any_value(h.line_from) as poverty_line_effective_from,
            any_value(h.line_status) as poverty_line_status,
            any_value(h.line_scope) as poverty_line_scope,
            count(*) filter (where recipient and not failed)::bigint as recipient_households,
            coalesce(sum(amount) filter (where recipient and not failed), 0)::decimal(18, 2)
                as amount_idr,
            count(*) filter (where target)::bigint as target_households,
            count(*) filter (where target and recipient and not failed)::bigint
                as recipient_target_households,
            count(*) filter (where poor)::bigint as poor_households,
            count(*) filter (where poor and recipient and not failed)::bigint
                as recipient_poor_households,
            recipient_target_households / nullif(target_households, 0) as coverage_target,
            1 - recipient_target_households / nullif(target_households, 0) as exclusion_error,
            (recipient_households - recipient_target_households)
                / nullif(recipient_households, 0) as inclusion_error,
            recipient_poor_households / nullif(poor_households, 0) as coverage_poor,
            (amount_idr / nullif(sum(12 * household_size * y)
                filter (where recipient and not failed), 0))::double as adequacy,
            coalesce(sum(12 * household_size * y) filter (where recipient and not failed), 0)
                ::decimal(18, 2) as recipient_consumption_idr_year,
            count(*) filter (where unmatched)::bigint as unmatched_records,
            coalesce(sum(amount) filter (where unmatched), 0)::decimal(18, 2)
                as unmatched_amount_idr,
            count(*) filter (where recipient and failed)::bigint as failed_records,
            coalesce(sum(amount) filter (where recipient and failed), 0)::decimal(18, 2)
                as failed_amount_idr,
            -- the amounts are yearly: every program has records in every month of the window
            12 as window_months_with_records
        from rx h
        {grouping}
        """,
        extra_key="h.program",
    )
    _area_table(
        con,
        "program_overlap",
        """
        select {area},
            any_value(h.line) as poverty_line_idr,
            any_value(h.line_from) as poverty_line_effective_from,
            any_value(h.line_status) as poverty_line_status,
            any_value(h.line_scope) as poverty_line_scope,
            count(*) filter (where poor)::bigint as poor_households,
            count(*) filter (where poor and program_count = 0)::bigint as poor_programs_0,
            count(*) filter (where poor and program_count = 1)::bigint as poor_programs_1,
            count(*) filter (where poor and program_count = 2)::bigint as poor_programs_2,
            count(*) filter (where poor and program_count >= 3)::bigint as poor_programs_3plus,
            count(*) filter (where desil <= 4)::bigint as target_households,
            count(*) filter (where desil <= 4 and program_count = 0)::bigint
                as target_programs_0,
            count(*) filter (where desil <= 4 and program_count = 1)::bigint
                as target_programs_1,
            count(*) filter (where desil <= 4 and program_count = 2)::bigint
                as target_programs_2,
            count(*) filter (where desil <= 4 and program_count >= 3)::bigint
                as target_programs_3plus
        from hh h join hh_programs p using (period, household_id)
        {grouping}
        """,
    )
    _area_table(
        con,
        "funding_sources",
        """
        select {area}, h.funding_source,
            count(distinct household_id) filter (where recipient and not failed)::bigint
                as recipient_households,
            coalesce(sum(amount) filter (where recipient and not failed), 0)::decimal(18, 2)
                as amount_idr,
            count(*) filter (where unmatched)::bigint as unmatched_records,
            coalesce(sum(amount) filter (where unmatched), 0)::decimal(18, 2)
                as unmatched_amount_idr
        from rx h where (recipient and not failed) or unmatched
        {grouping}
        """,
        extra_key="h.funding_source",
    )
    con.execute(
        """
        create or replace table program_incidence as
        with desil as (select range::tinyint as desil from range(1, 11)),
        cells as (
            select period, program, desil from (select distinct period, program from rx), desil
        ),
        counts as (
            select period, program, desil,
                   count(*)::bigint as recipient_households,
                   sum(amount)::decimal(18, 2) as amount_idr
            from rx where recipient and not failed group by all
        ),
        final as (
            select c.period, c.program, c.desil,
                   coalesce(n.recipient_households, 0)::bigint as recipient_households,
                   coalesce(n.amount_idr, 0)::decimal(18, 2) as amount_idr,
                   recipient_households / nullif(sum(recipient_households)
                       over (partition by c.period, c.program), 0) as beneficiary_incidence,
                   (amount_idr / nullif(sum(amount_idr)
                       over (partition by c.period, c.program), 0))::double as benefit_incidence
            from cells c left join counts n using (period, program, desil)
        )
        select * from final
        """
    )
    con.execute(
        """
        create or replace table data_quality as
        with files as (
            select 'run-' || strftime(period, '%Y%m') as run_id, kind, period,
                   kind || '_' || strftime(period, '%Y%m') || '.csv' as file_name
            from (select distinct period from hh), (values ('households'), ('members'),
                 ('disbursements')) k(kind)
        ),
        final as (
            select run_id, file_name, kind, sha256(file_name) as sha256,
                   'loaded' as file_outcome, null::varchar as file_reason,
                   (1000 + hash(file_name) % 500)::bigint as rows_read,
                   (1000 + hash(file_name) % 500 - 12 - hash(file_name) % 7)::bigint as accepted,
                   (10 + hash(file_name) % 7)::bigint as quarantined, 2::bigint as duplicate,
                   0::bigint as skipped_lines
            from files
        )
        select * from final
        """
    )
    con.execute(
        """
        create or replace table data_quality_reason as
        with final as (
            select run_id, file_name, sha256, 'nik_invalid' as reason,
                   (quarantined - 3)::bigint as rows
            from data_quality
            union all
            select run_id, file_name, sha256, 'kelurahan_unknown', 3::bigint from data_quality
        )
        select * from final
        """
    )
    con.execute(
        """
        create or replace table households as
        with latest as (select * from hh_mpi where period = (select max(period) from hh)),
        final as (
            select sha256('fixture-key:' || household_id) as household_pseudonym,
                   h.period as snapshot, h.code as kelurahan_code, a.name as kelurahan_name,
                   h.kecamatan_code,
                   (1 + h.h % 9)::smallint as rt, (1 + h.h % 4)::smallint as rw,
                   h.household_size::integer as household_size, h.desil::tinyint as desil,
                   h.y::decimal(18, 2) as pengeluaran_per_kapita, h.poor, h.extreme_poor,
                   h.near_poor, h.line as poverty_line_idr,
                   h.line_from as poverty_line_effective_from,
                   h.line_status as poverty_line_status, h.line_scope as poverty_line_scope,
                   -- null outside the MPI sample
                   case when h.mpi_complete then (h.score18 / 18.0)::decimal(5, 4) end
                       as mpi_score,
                   case when h.mpi_complete then h.mpi_poor end as mpi_poor,
                   coalesce(p.programs_received, []::varchar[]) as programs_received,
                   p.program_count::integer as program_count,
                   h.poor and p.program_count = 0 as unreached_poor
            from latest h join hh_programs p using (period, household_id)
            join areas a on a.code = h.code
        )
        select * from final order by kelurahan_code, household_pseudonym
        """
    )


def _build_decision_tables(con: duckdb.DuckDBPyConnection) -> None:
    """poverty_profile (groups drawn from hashes of the household id) and poverty_transitions
    (consecutive periods taken as consecutive snapshots, the same household ids)."""
    _area_table(
        con,
        "poverty_profile",
        """
        with grouped_hh as (
            select h.*, g.profile_group,
                   case when g.person then 1 + hash(h.household_id, g.profile_group) % 2
                        else h.household_size end as persons
            from hh_mpi h
            cross join (values ('head_female', false, 4), ('head_60plus', false, 5),
                               ('member_disabled', false, 9), ('member_70plus', false, 8),
                               ('children_0_17', true, 2), ('children_0_6', true, 3),
                               ('elderly_60plus', true, 4), ('persons_disabled', true, 11))
                as g(profile_group, person, every)
            where hash(h.household_id, g.profile_group, 'in') % g.every = 0
        )
        select {area}, h.profile_group,
            sum(h.persons) as population,
            sum(h.persons) filter (where h.poor) as poor_population,
            sum(h.persons) filter (where h.poor) / sum(h.persons) as p0,
            coalesce(sum(h.persons) filter (where h.extreme_poor), 0) as extreme_poor_population,
            coalesce(sum(h.persons) filter (where h.mpi_poor), 0) as mpi_poor_population,
            count(*) as households
        from grouped_hh h
        {grouping}
        """.replace("sum(h.persons) filter (where h.poor) as", "coalesce(sum(h.persons) filter "
                    "(where h.poor), 0) as"),
        extra_key="h.profile_group",
    )
    con.execute(
        """
        create or replace table poverty_transitions as
        with periods as (
            select period, lead(period) over (order by period) as next_period
            from (select distinct period from hh)
        ),
        paired as (
            select p.period as snapshot_from, p.next_period as snapshot_to,
                   b.code, b.kecamatan_code, b.household_size,
                   case when a.poor and b.poor then 'stayed_poor'
                        when not a.poor and b.poor then 'entered_poverty'
                        when a.poor and not b.poor then 'exited_poverty'
                        else 'stayed_non_poor' end as state,
                   hash(b.household_id, 'rx') % 3 > 0 as recipient
            from periods p
            join hh a on a.period = p.period
            join hh b on b.period = p.next_period and b.household_id = a.household_id
        ),
        grouped as (
            select snapshot_from, any_value(snapshot_to) as snapshot_to,
                   case when grouping(code) = 0 then 'kelurahan'
                        when grouping(kecamatan_code) = 0 then 'kecamatan' else 'kota' end
                       as area_level,
                   coalesce(code, kecamatan_code, '33.75') as area_code,
                   kecamatan_code,
        """
        + ",\n".join(
            f"count(*) filter (where state = '{s}') as {s}_households, "
            f"coalesce(sum(household_size) filter (where state = '{s}'), 0) as {s}_population"
            for s in TRANSITION_STATES
        )
        + """,
                   0 as new_households, 0 as new_population, 0 as left_households,
                   0 as left_population,
                   count(*) filter (where state = 'exited_poverty' and recipient)
                       as exited_poverty_recipient_households,
                   count(*) filter (where state = 'stayed_poor' and recipient)
                       as stayed_poor_recipient_households
            from paired
            where snapshot_to is not null
            group by grouping sets ((snapshot_from, code, kecamatan_code),
                                    (snapshot_from, kecamatan_code), (snapshot_from))
        )
        select g.snapshot_from, g.snapshot_to, g.area_level, g.area_code, a.name as area_name,
               g.* exclude (snapshot_from, snapshot_to, area_level, area_code)
        from grouped g join areas a on a.code = g.area_code
        """
    )


def _small_count(expression: str) -> str:
    return f"(({expression}) between {dictionary.MIN_COUNT} and {dictionary.MAX_SMALL_COUNT})"


def _withheld(column: dictionary.Column) -> str:
    """SQL: the Bappeda pack withholds ``column`` (the indicators spec's primary rule: a count of
    1-4, an amount over 1-4 units, a ratio on a denominator under 10 or a numerator of 1-4)."""
    if column.kind == "count":
        return _small_count(column.name)
    if column.kind == "amount":
        return _small_count(column.basis or column.name)
    condition = f"coalesce(({column.denominator}) < {dictionary.MIN_DENOMINATOR}, true)"
    if column.numerator:
        condition += f" or coalesce({_small_count(column.numerator)}, false)"
    return f"({condition})"


def _pack_select(table: dictionary.Table, pack: str) -> str:
    """The select list of ``table`` in ``pack``: every column cast to its dictionary type; in the
    Bappeda pack each suppressible column nulled where withheld and followed by its
    ``<column>_suppressed`` flag (true only where a value was withheld)."""
    parts = []
    for column in table.columns:
        value = f"cast({column.name} as {column.type})"
        if pack == dictionary.BAPPEDA and column.suppressible:
            condition = _withheld(column)
            parts.append(f"case when {condition} then null else {value} end as {column.name}")
            flag = dictionary.flag_definition(column)
            parts.append(
                f"cast(coalesce({condition} and {column.name} is not null, false) as {flag.type})"
                f" as {flag.name}"
            )
        else:
            parts.append(f"{value} as {column.name}")
    return ", ".join(parts)


def write_curated_fixture(
    curated_dir: Path,
    periods: tuple[str, ...] = DEFAULT_PERIODS,
    renames: dict[str, str] | None = None,
) -> CuratedFixture:
    """Write the restricted and bappeda packs under ``curated_dir`` and describe them.

    ``renames`` maps a kelurahan code to the name the packs should carry (to check that charts
    take their labels from the data).
    """
    curated_dir = Path(curated_dir)
    renames = renames or {}
    con = duckdb.connect(":memory:")
    try:
        areas = _areas(renames)  # noqa: F841
        programs = reference.load_programs()  # noqa: F841
        con.execute("create table areas as select * from areas")
        con.execute("create table programs as select * from programs")
        _build_households(con, tuple(periods))
        _build_receipts(con)
        _build_tables(con)
        _build_decision_tables(con)
        for pack in ("restricted", "bappeda"):
            folder = curated_dir / pack
            folder.mkdir(parents=True, exist_ok=True)
            for table in dictionary.pack_tables(pack):
                if table.name not in FIXTURE_TABLES:
                    continue
                order = ", ".join(table.key)
                con.execute(
                    f"copy (select {_pack_select(table, pack)} from {table.name} order by {order})"
                    f" to {sql_literal(folder / (table.name + '.parquet'))} (format parquet)"
                )
        names = dict(
            con.execute(
                "select code, name from areas where level = 'kelurahan' order by code"
            ).fetchall()
        )
    finally:
        con.close()
    return CuratedFixture(curated_dir, tuple(periods), names)


if __name__ == "__main__":  # pragma: no cover
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "curated_fixture")
    print(write_curated_fixture(target))
