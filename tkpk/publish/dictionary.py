"""The data dictionary: the ONE registry of the curated tables and their columns.

Every curated table's columns (names, order, types) are declared here and nowhere else; everything
else is derived from this module: the check of each model's built columns at build time
(``check_columns``, called by ``transforms.runner.build_model``), the bilingual dictionary files of
both packs (Markdown, CSV, JSON), the exported column order and types (each column is cast to its
type on export), which columns are counts, amounts or ratios and each ratio's denominator (this
drives the disclosure control of the Bappeda pack), the generated output expectation suites
(``python -m tkpk.publish.suites``) and the developer docs ``docs/data-dictionary.md``
(``python -m tkpk.publish.dictionary --docs``; tests keep both in sync).

Column kinds:

- ``key``: identifies the row (period, area, program, ...); never suppressed.
- ``attribute``: descriptive value (names, poverty line, status); never suppressed.
- ``count``: a number of households, persons, records or rows; suppressed in the Bappeda pack
  when 1–4.
- ``amount``: rupiah summed over the units counted in ``basis``; suppressed when that count is.
- ``ratio``: a fraction in [0, 1]; suppressed when the number of units in its denominator
  (``denominator``, an SQL expression over the unsuppressed table) is under 10, or when the count
  in its numerator (``numerator``) is 1–4 (ratio × denominator would reveal that count).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from dataclasses import dataclass, field

import duckdb

from tkpk.config import DOCS_DIR, TRANSFORMS_DIR

#: Bump when an exported table gains, loses or changes a column.
SCHEMA_VERSION = "1.0"

RESTRICTED = "restricted"
BAPPEDA = "bappeda"

#: Disclosure control of the Bappeda pack (docs/contract/indicators.md, "Disclosure control").
MIN_COUNT = 1
MAX_SMALL_COUNT = 4
MIN_DENOMINATOR = 10

#: The warehouse ``households`` mart carries the registry id; it is replaced by the pseudonym.
REGISTRY_ID_COLUMN = "id_keluarga"

#: unit key -> (English, Bahasa Indonesia)
UNITS: dict[str, tuple[str, str]] = {
    "month": ("date, first day of the month", "tanggal, hari pertama bulan"),
    "code": ("code", "kode"),
    "text": ("text", "teks"),
    "persons": ("persons", "jiwa"),
    "households": ("households (families)", "keluarga"),
    "records": ("records", "catatan"),
    "rows": ("rows", "baris"),
    "lines": ("lines", "baris"),
    "fraction": ("fraction 0–1", "pecahan 0–1"),
    "idr_capita_month": ("rupiah per person per month", "rupiah per jiwa per bulan"),
    "idr_month": ("rupiah per month", "rupiah per bulan"),
    "idr_window": ("rupiah, 12-month reach window", "rupiah, jendela 12 bulan"),
    "idr_year": ("rupiah per year", "rupiah per tahun"),
    "boolean": ("true/false", "benar/salah"),
    "decile": ("decile 1–10", "desil 1–10"),
    "score": ("score 0–1", "skor 0–1"),
    "hex": ("hexadecimal digest", "digest heksadesimal"),
    "programs": ("list of program codes", "daftar kode program"),
    "number": ("number", "nomor"),
    "count_programs": ("programs", "program"),
    "months": ("months", "bulan"),
    "ratio_open": ("ratio (may exceed 1)", "rasio (bisa lebih dari 1)"),
    "bytes": ("bytes", "bita"),
    "timestamp_utc": ("date and time, UTC", "tanggal dan waktu, UTC"),
}


@dataclass(frozen=True)
class Column:
    """One exported column."""

    name: str
    type: str
    unit: str
    kind: str
    en: str
    id: str
    #: ratio: SQL expression giving the number of units in the denominator.
    denominator: str | None = None
    #: ratio: SQL expression giving the count in the numerator (None: not a count ratio).
    numerator: str | None = None
    #: amount: the count column of the units the amount is summed over.
    basis: str | None = None
    #: count/amount: kelurahan values add up to their kecamatan and to the city.
    additive: bool = False
    #: free text that could carry anything (file names): scanned for NIK-like numbers.
    free_text: bool = False
    #: False for the data-quality counts (rows per file), which the disclosure rule exempts.
    disclosure: bool = True
    #: the warehouse column the export computes this one from, when named otherwise (the
    #: pseudonym from the registry id); None: the warehouse column has this column's name.
    warehouse: str | None = None

    @property
    def warehouse_name(self) -> str:
        """The column's name in the warehouse table the model builds."""
        return self.warehouse or self.name

    @property
    def suppressible(self) -> bool:
        """Whether the Bappeda pack applies disclosure control to this column."""
        return self.kind in ("count", "amount", "ratio") and self.disclosure


@dataclass(frozen=True)
class Table:
    """One exported table."""

    name: str
    grain_en: str
    grain_id: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    packs: frozenset[str] = field(default_factory=lambda: frozenset({RESTRICTED, BAPPEDA}))
    #: an area table: rows for every kelurahan, kecamatan and the city.
    area: bool = False
    #: the file that builds the table, relative to the checkout (None: its model
    #: ``transforms/marts/<name>.sql``).
    built_by: str | None = None

    @property
    def model_file(self) -> str:
        """The file that builds the table, relative to the checkout."""
        if self.built_by is not None:
            return self.built_by
        path = TRANSFORMS_DIR / "marts" / f"{self.name}.sql"
        return path.relative_to(TRANSFORMS_DIR.parent).as_posix()

    @property
    def warehouse_columns(self) -> list[tuple[str, str]]:
        """(name, type) of the columns its model builds in the warehouse, in order."""
        return [(c.warehouse_name, c.type) for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name}.{name} is not in the data dictionary")

    @property
    def names(self) -> list[str]:
        """Column names in export order."""
        return [c.name for c in self.columns]


def _c(name: str, type_: str, unit: str, kind: str, en: str, id_: str, **extra) -> Column:
    return Column(name, type_, unit, kind, en, id_, **extra)


def _count(name: str, unit: str, en: str, id_: str, additive: bool = True, **extra) -> Column:
    return _c(name, "BIGINT", unit, "count", en, id_, additive=additive, **extra)


def _amount(name: str, unit: str, basis: str, en: str, id_: str, additive: bool = True) -> Column:
    return _c(name, "DECIMAL(18,2)", unit, "amount", en, id_, basis=basis, additive=additive)


def _ratio(
    name: str, denominator: str, numerator: str | None, en: str, id_: str, unit: str = "fraction"
) -> Column:
    return _c(name, "DOUBLE", unit, "ratio", en, id_, denominator=denominator, numerator=numerator)


# --------------------------------------------------------------------------- shared columns

PERIOD = _c(
    "period", "DATE", "month", "key",
    "Reported month (first day of the month).",
    "Bulan laporan (hari pertama bulan).",
)
SNAPSHOT = _c(
    "snapshot", "DATE", "month", "attribute",
    "Registry snapshot used for the period: the latest usable snapshot whose month is at or "
    "before the period.",
    "Potret data registri (DTSEN) yang dipakai untuk periode ini: potret terakhir yang layak "
    "pakai dengan bulan sama dengan atau sebelum periode.",
)
AREA_COLUMNS = (
    PERIOD,
    _c(
        "area_level", "VARCHAR", "code", "key",
        "Area level (ref_area level): kelurahan, kecamatan or kota (city; another region's top "
        "rows: kabupaten, provinsi). Kecamatan and city rows are computed from the microdata, "
        "never by averaging kelurahan rates.",
        "Tingkat wilayah: kelurahan, kecamatan atau kota (untuk wilayah lain juga kabupaten, "
        "provinsi). Baris kecamatan dan kota dihitung dari data mikro, bukan rata-rata angka "
        "kelurahan.",
    ),
    _c(
        "area_code", "VARCHAR", "code", "key",
        "Kemendagri area code, dotted (33.75.01.1002).",
        "Kode wilayah Kemendagri, bertitik (33.75.01.1002).",
    ),
    _c("area_name", "VARCHAR", "text", "attribute", "Area name.", "Nama wilayah."),
    _c(
        "kecamatan_code", "VARCHAR", "code", "attribute",
        "Kemendagri code of the kecamatan the area belongs to (null on the city row).",
        "Kode Kemendagri kecamatan tempat wilayah berada (kosong pada baris kota).",
    ),
    SNAPSHOT,
)
PROGRAM = _c(
    "program", "VARCHAR", "code", "key",
    "Program code of the catalog (PKH, BPNT, PBI_JK, ...).",
    "Kode program menurut katalog (PKH, BPNT, PBI_JK, ...).",
)

# --------------------------------------------------------------------------- poverty lines

#: The line a row's poverty figures were computed with (indicators.md, "Notation": lines by area).
LINE_COLUMNS = (
    _c(
        "poverty_line_idr", "DECIMAL(18,2)", "idr_capita_month", "attribute",
        "Poverty line z in force for the period in the area's kabupaten/kota: among the lines "
        "set for it, its province or the nation (00), the latest effective at or before the "
        "period, the most specific on equal dates. Null before the first line, and on a "
        "province row whose kab/kota use different lines (each kab/kota row shows its own).",
        "Garis kemiskinan z yang berlaku untuk periode ini di kabupaten/kota wilayah: di antara "
        "garis untuk kab/kota itu, provinsinya atau nasional (00), yang terakhir berlaku sampai "
        "periode; bila tanggalnya sama, yang wilayahnya paling sempit. Kosong sebelum garis "
        "pertama, dan pada baris provinsi yang kab/kotanya memakai garis berbeda (lihat baris "
        "setiap kab/kota).",
    ),
    _c(
        "poverty_line_effective_from", "DATE", "month", "attribute",
        "Month from which that poverty line is in force (its effective_from): an old date means "
        "an old line.",
        "Bulan mulai berlakunya garis kemiskinan tersebut: tanggal lama berarti garis lama.",
    ),
    _c(
        "poverty_line_status", "VARCHAR", "text", "attribute",
        "Status of the poverty line: official or provisional.",
        "Status garis kemiskinan: resmi (official) atau sementara (provisional).",
    ),
    _c(
        "poverty_line_scope", "VARCHAR", "code", "attribute",
        "Level of the area the line was set for: kabkota (the area's own), province or "
        "national (borrowed from a wider area).",
        "Tingkat wilayah tempat garis ditetapkan: kabkota (milik wilayah sendiri), province "
        "(provinsi) atau national (nasional): dipinjam dari wilayah yang lebih luas.",
    ),
)


def _line_column(name: str) -> Column:
    """One of LINE_COLUMNS."""
    return next(c for c in LINE_COLUMNS if c.name == name)


# --------------------------------------------------------------------------- kelurahan_poverty


def _deprived(name: str, en: str, id_: str) -> Column:
    return _ratio(
        f"deprived_{name}", "mpi_population", f"round(deprived_{name} * mpi_population)",
        f"Share of the MPI sample (mpi_population) living in households deprived in {en} "
        "(uncensored headcount, Alkire–Foster; null when mpi_population is 0).",
        f"Proporsi penduduk sampel MPI (mpi_population) yang tinggal di keluarga yang mengalami "
        f"deprivasi {id_} (tanpa sensor, Alkire–Foster; kosong bila mpi_population 0).",
    )


#: BPS's official series beside the registry-based figures (kab/kota rows only).
OFFICIAL_COLUMNS = (
    _c("official_p0", "DOUBLE", "fraction", "attribute",
       "BPS's official poverty rate (Susenas) of the latest release whose survey month is at or "
       "before the period, as a fraction (kab/kota rows only; reference/official_poverty.csv). "
       "Not comparable one to one with the registry-based p0: another source and another base.",
       "Angka kemiskinan resmi BPS (Susenas) dari rilis terakhir yang bulan surveinya sama "
       "dengan atau sebelum periode, sebagai pecahan (hanya baris kabupaten/kota). Tidak dapat "
       "dibandingkan langsung dengan p0 berbasis registri: sumber dan basisnya berbeda."),
    _c("official_year", "INTEGER", "number", "attribute",
       "Year of the official release shown in official_p0.",
       "Tahun rilis resmi yang ditampilkan pada official_p0."),
    _c("registry_coverage", "DOUBLE", "ratio_open", "attribute",
       "population / the official release's population: how much of the people the registry "
       "covers (null when the release has no population).",
       "population / jumlah penduduk rilis resmi: seberapa banyak penduduk yang tercakup "
       "registri (kosong bila rilis tidak memuat jumlah penduduk)."),
)


KELURAHAN_POVERTY = Table(
    name="kelurahan_poverty",
    grain_en="one row per period × area (every kelurahan, every kecamatan, the city)",
    grain_id="satu baris per periode × wilayah (setiap kelurahan, kecamatan, dan kota)",
    key=("period", "area_level", "area_code"),
    area=True,
    columns=AREA_COLUMNS + (
        _line_column("poverty_line_idr"),
        _c(
            "extreme_poverty_line_idr", "DECIMAL(18,2)", "idr_capita_month", "attribute",
            "Extreme-poverty line z_e of the same row, chosen like z among the lines that have "
            "one (null when none is configured).",
            "Garis kemiskinan ekstrem z_e pada baris yang sama, dipilih seperti z di antara "
            "garis yang memilikinya (kosong bila tidak ditetapkan).",
        ),
        _line_column("poverty_line_status"),
        _line_column("poverty_line_effective_from"),
        _line_column("poverty_line_scope"),
        _count("population", "persons",
               "Population N: accepted member rows of the area's households.",
               "Jumlah penduduk N: anggota keluarga yang diterima di wilayah ini."),
        _count("households", "households", "Number of households.", "Jumlah keluarga."),
        _count("poor_population", "persons",
               "Poor persons: members of households with per-capita expenditure strictly "
               "below the poverty line.",
               "Penduduk miskin: anggota keluarga dengan pengeluaran per kapita di bawah "
               "garis kemiskinan (kurang dari, tidak sama dengan)."),
        _count("poor_households", "households",
               "Poor households (per-capita expenditure strictly below the poverty line).",
               "Keluarga miskin (pengeluaran per kapita di bawah garis kemiskinan)."),
        _ratio("p0", "population", "poor_population",
               "Headcount index P0 = poor_population / population (registry-based, not BPS's "
               "official rate).",
               "Persentase penduduk miskin P0 = poor_population / population (berbasis "
               "registri, bukan angka resmi BPS)."),
        _ratio("p1", "population", "poor_households",
               "Poverty gap index P1 = (1/N) Σ n_h (z − y_h)/z over the poor.",
               "Indeks kedalaman kemiskinan P1 = (1/N) Σ n_h (z − y_h)/z atas penduduk miskin."),
        _ratio("p2", "population", "poor_households",
               "Poverty severity index P2 = (1/N) Σ n_h ((z − y_h)/z)² over the poor.",
               "Indeks keparahan kemiskinan P2 = (1/N) Σ n_h ((z − y_h)/z)² atas penduduk "
               "miskin."),
        _amount("poverty_gap_idr_month", "idr_month", "poor_households",
                "Σ n_h (z − y_h) over the poor: the monthly transfer that would lift every poor "
                "person exactly to the line with perfect targeting.",
                "Σ n_h (z − y_h) atas penduduk miskin: transfer per bulan yang mengangkat setiap "
                "penduduk miskin tepat ke garis kemiskinan bila sasaran sempurna."),
        _count("extreme_poor_population", "persons",
               "Persons in households below the extreme-poverty line (null when no extreme "
               "line is configured).",
               "Penduduk di bawah garis kemiskinan ekstrem (kosong bila garis ekstrem tidak "
               "ditetapkan)."),
        _ratio("extreme_p0", "population", "extreme_poor_population",
               "Extreme-poverty headcount index = extreme_poor_population / population.",
               "Persentase penduduk miskin ekstrem = extreme_poor_population / population."),
        _count("near_poor_population", "persons",
               "Near-poor persons: z ≤ y_h < 1.2 z (BPS 'hampir miskin').",
               "Penduduk hampir miskin: z ≤ y_h < 1,2 z."),
        _count("households_desil_1_4", "households",
               "Households in national welfare deciles 1–4 (usual target band).",
               "Keluarga pada desil kesejahteraan nasional 1–4 (kelompok sasaran bansos)."),
        _count("poor_households_unreached", "households",
               "Poor households that received no program at all in the 12-month reach window.",
               "Keluarga miskin yang tidak menerima program apa pun dalam jendela 12 bulan."),
        _ratio("gini", "population", None,
               "Gini coefficient of per-capita expenditure over the persons of the area: "
               "Σ_h Σ_g n_h n_g |y_h − y_g| / (2 N² μ), μ = Σ n_h y_h / N (no small-sample "
               "correction), computed from the area's own households (never combined from "
               "smaller areas); null when N = 0.",
               "Koefisien Gini pengeluaran per kapita atas penduduk wilayah: "
               "Σ_h Σ_g n_h n_g |y_h − y_g| / (2 N² μ), μ = Σ n_h y_h / N (tanpa koreksi sampel "
               "kecil), dihitung dari keluarga wilayah itu sendiri (bukan gabungan wilayah "
               "lebih kecil); kosong bila N = 0.", unit="score"),
        # a value of one household: withheld like a ratio when fewer than 10 persons
        _c("median_expenditure_idr", "DECIMAL(18,2)", "idr_capita_month", "ratio",
           "Person-weighted lower median of per-capita expenditure: the smallest y_h whose "
           "cumulative weight n_h (households sorted by y) reaches N/2; null when N = 0.",
           "Median bawah pengeluaran per kapita berbobot penduduk: y_h terkecil yang bobot "
           "kumulatifnya n_h (keluarga diurutkan menurut y) mencapai N/2; kosong bila N = 0.",
           denominator="population"),
        _count("mpi_population", "persons",
               "N_mpi: persons in households of the MPI sample, i.e. with none of the nine "
               "indicators missing (an indicator is missing when a value it reads is a flagged, "
               "null field; a member without a birth date makes schooling and attendance "
               "missing). The MPI columns are over N_mpi.",
               "N_mpi: penduduk pada keluarga sampel MPI, yaitu tanpa indikator yang hilang "
               "(indikator hilang bila nilai yang dibacanya kosong karena ditandai; anggota "
               "tanpa tanggal lahir membuat indikator pendidikan dan partisipasi sekolah "
               "hilang). Kolom MPI dihitung atas N_mpi."),
        _count("mpi_incomplete_population", "persons",
               "N − N_mpi: persons in households left out of the MPI sample for missing data "
               "(they still count in every monetary figure).",
               "N − N_mpi: penduduk pada keluarga yang dikeluarkan dari sampel MPI karena data "
               "tidak lengkap (tetap dihitung pada semua angka moneter)."),
        _count("mpi_poor_population", "persons",
               "Multidimensionally poor persons of the MPI sample (deprivation score "
               "c_h ≥ 1/3).",
               "Penduduk miskin multidimensi dalam sampel MPI (skor deprivasi c_h ≥ 1/3)."),
        _ratio("mpi_h", "mpi_population", "mpi_poor_population",
               "Multidimensional headcount ratio H = mpi_poor_population / mpi_population "
               "(null when mpi_population is 0).",
               "Rasio penduduk miskin multidimensi H = mpi_poor_population / mpi_population "
               "(kosong bila mpi_population 0)."),
        _ratio("mpi_a", "mpi_poor_population", None,
               "Intensity A: average score of the multidimensionally poor (null when none).",
               "Intensitas A: rata-rata skor penduduk miskin multidimensi (kosong bila tidak "
               "ada).", unit="score"),
        _ratio("mpi_m0", "mpi_population", "mpi_poor_population",
               "Adjusted headcount ratio M0 = H × A = Σ n_h c_h [c_h ≥ 1/3] / mpi_population.",
               "Indeks kemiskinan multidimensi M0 = H × A = Σ n_h c_h [c_h ≥ 1/3] / "
               "mpi_population.", unit="score"),
        _deprived("schooling", "schooling (no member aged 15+ completed primary school)",
                  "pendidikan (tidak ada anggota 15+ tamat SD)"),
        _deprived("attendance", "school attendance (a member aged 7–15 not attending)",
                  "partisipasi sekolah (ada anggota 7–15 tahun tidak bersekolah)"),
        _deprived("insurance", "health insurance (a member without JKN/insurance)",
                  "jaminan kesehatan (ada anggota tanpa jaminan)"),
        _deprived("electricity", "electricity (no electricity)", "penerangan (tanpa listrik)"),
        _deprived("water", "drinking water (unimproved source)",
                  "air minum (sumber tidak layak)"),
        _deprived("sanitation", "sanitation (public toilet or none)",
                  "sanitasi (jamban umum atau tidak ada)"),
        _deprived("housing", "housing (bamboo/earth floor or poor walls)",
                  "perumahan (lantai bambu/tanah atau dinding tidak layak)"),
        _deprived("cooking_fuel", "cooking fuel (charcoal or firewood)",
                  "bahan bakar memasak (arang atau kayu bakar)"),
        _deprived("crowding", "crowding (under 8 m² floor area per person)",
                  "kepadatan hunian (luas lantai kurang dari 8 m² per jiwa)"),
        *OFFICIAL_COLUMNS,
    ),
)

# --------------------------------------------------------------------------- program_reach

PROGRAM_REACH = Table(
    name="program_reach",
    grain_en="one row per period × area × program (rows with all counts zero may be omitted)",
    grain_id="satu baris per periode × wilayah × program (baris yang semua hitungannya nol "
    "boleh tidak ada)",
    key=("period", "area_level", "area_code", "program"),
    area=True,
    columns=AREA_COLUMNS + (
        PROGRAM,
        _c("program_name", "VARCHAR", "text", "attribute", "Program name.", "Nama program."),
        *LINE_COLUMNS,
        _count("recipient_households", "households",
               "Recipient households |R|: at least one successful record in the 12-month "
               "window matched to a member (NIK) or the household (family card).",
               "Keluarga penerima |R|: minimal satu catatan berhasil dalam jendela 12 bulan "
               "yang cocok dengan anggota (NIK) atau keluarga (No. KK)."),
        _amount("amount_idr", "idr_window", "recipient_households",
                "Successful amount matched to the recipient households in the window "
                "(PBI-JK: premium per active member-month).",
                "Nilai bantuan berhasil yang cocok dengan keluarga penerima dalam jendela "
                "(PBI-JK: iuran per anggota aktif per bulan)."),
        _count("target_households", "households",
               "Target households |T|: DESIL ≤ the program's target_desil_max.",
               "Keluarga sasaran |T|: DESIL ≤ batas desil sasaran program."),
        _count("recipient_target_households", "households",
               "Recipient target households |R ∩ T|.", "Keluarga sasaran yang menerima |R ∩ T|."),
        _count("poor_households", "households",
               "Poor households |P| (per-capita expenditure below the line).",
               "Keluarga miskin |P| (pengeluaran per kapita di bawah garis)."),
        _count("recipient_poor_households", "households",
               "Recipient poor households |R ∩ P|.", "Keluarga miskin yang menerima |R ∩ P|."),
        _ratio("coverage_target", "target_households", "recipient_target_households",
               "Coverage of the target group |R ∩ T| / |T| (null when T is empty).",
               "Cakupan kelompok sasaran |R ∩ T| / |T| (kosong bila T kosong)."),
        _ratio("exclusion_error", "target_households",
               "target_households - recipient_target_households",
               "Exclusion error |T \\ R| / |T| (null when T is empty).",
               "Kesalahan eksklusi |T \\ R| / |T| (kosong bila T kosong)."),
        _ratio("inclusion_error", "recipient_households",
               "recipient_households - recipient_target_households",
               "Inclusion error (leakage) |R \\ T| / |R| (null when R is empty).",
               "Kesalahan inklusi (kebocoran) |R \\ T| / |R| (kosong bila R kosong)."),
        _ratio("coverage_poor", "poor_households", "recipient_poor_households",
               "Coverage of the poor |R ∩ P| / |P| (null when P is empty).",
               "Cakupan keluarga miskin |R ∩ P| / |P| (kosong bila P kosong)."),
        _ratio("adequacy", "recipient_households", None,
               "Adequacy: amount_idr / recipient_consumption_idr_year (benefit as a share of "
               "recipients' yearly consumption), only for programs whose benefit adds to "
               "household consumption (catalog adequacy = true: cash and food transfers). Null "
               "for the others, whose value is not consumption (PBI-JK premiums paid to the "
               "insurer, training places, house repair), and when R is empty.",
               "Kecukupan: amount_idr / recipient_consumption_idr_year (manfaat sebagai porsi "
               "konsumsi setahun penerima), hanya untuk program yang manfaatnya menambah "
               "konsumsi keluarga (katalog adequacy = true: bantuan tunai dan pangan). Kosong "
               "untuk program lain yang nilainya bukan konsumsi (iuran PBI-JK yang dibayar ke "
               "BPJS, pelatihan, bedah rumah), dan bila R kosong."),
        _amount("recipient_consumption_idr_year", "idr_year", "recipient_households",
                "Σ over recipients of 12 × n_h × y_h (the adequacy denominator).",
                "Σ atas penerima dari 12 × n_h × y_h (penyebut kecukupan)."),
        _count("unmatched_records", "records",
               "Successful records in the window that match no household, attributed to the "
               "kelurahan named on the record (or the city row when none).",
               "Catatan berhasil dalam jendela yang tidak cocok dengan keluarga mana pun, "
               "dicatat di kelurahan pada catatan (atau baris kota bila tidak ada).",
               additive=False),
        _amount("unmatched_amount_idr", "idr_window", "unmatched_records",
                "Amount of the unmatched records.", "Nilai catatan yang tidak cocok.",
                additive=False),
        _count("failed_records", "records",
               "Records with a failed status in the window.",
               "Catatan dengan status gagal dalam jendela.", additive=False),
        _amount("failed_amount_idr", "idr_window", "failed_records",
                "Amount of the failed records.", "Nilai catatan yang gagal.", additive=False),
        _c("window_months_with_records", "INTEGER", "months", "attribute",
           "Months of the 12-month window in which the program has at least one accepted "
           "record (any status, by the record's date) anywhere in the region: fewer than 12 "
           "means part of the window has no data (e.g. before the first file was loaded), not "
           "necessarily no payments.",
           "Jumlah bulan dalam jendela 12 bulan yang memiliki minimal satu catatan program yang "
           "diterima (status apa pun, menurut tanggal catatan) di seluruh wilayah: kurang dari "
           "12 berarti sebagian jendela tanpa data (misalnya sebelum berkas pertama dimuat), "
           "belum tentu tanpa penyaluran."),
    ),
)

# --------------------------------------------------------------------------- program_incidence

_RECIPIENTS_OF_PROGRAM = "sum(recipient_households) over (partition by period, program)"

PROGRAM_INCIDENCE = Table(
    name="program_incidence",
    grain_en="one row per period × program × DESIL 1–10, city-wide",
    grain_id="satu baris per periode × program × DESIL 1–10, seluruh kota",
    key=("period", "program", "desil"),
    columns=(
        PERIOD,
        PROGRAM,
        _c("desil", "TINYINT", "decile", "key",
           "National welfare decile (1 = poorest).",
           "Desil kesejahteraan nasional (1 = termiskin)."),
        _count("recipient_households", "households",
               "Recipient households in the decile.", "Keluarga penerima pada desil ini."),
        _amount("amount_idr", "idr_window", "recipient_households",
                "Successful amount to the decile's recipients in the window.",
                "Nilai bantuan berhasil untuk penerima pada desil ini dalam jendela."),
        _ratio("beneficiary_incidence", _RECIPIENTS_OF_PROGRAM, "recipient_households",
               "Recipient households in the decile / all recipient households of the program.",
               "Keluarga penerima pada desil ini / seluruh keluarga penerima program."),
        _ratio("benefit_incidence", _RECIPIENTS_OF_PROGRAM, "recipient_households",
               "Amount to the decile / all amount of the program.",
               "Nilai bantuan pada desil ini / seluruh nilai bantuan program."),
    ),
)

# --------------------------------------------------------------------------- program_overlap


def _overlap(group: str, n: str, en_group: str, id_group: str) -> Column:
    label_en = "3 or more programs" if n == "3plus" else f"{n} program{'s' if n != '1' else ''}"
    label_id = "3 program atau lebih" if n == "3plus" else f"{n} program"
    return _count(
        f"{group}_programs_{n}", "households",
        f"{en_group} that received {label_en} (distinct) in the 12-month window.",
        f"{id_group} yang menerima {label_id} (berbeda) dalam jendela 12 bulan.",
    )


PROGRAM_OVERLAP = Table(
    name="program_overlap",
    grain_en="one row per period × area",
    grain_id="satu baris per periode × wilayah",
    key=("period", "area_level", "area_code"),
    area=True,
    columns=AREA_COLUMNS + (
        *LINE_COLUMNS,
        _count("poor_households", "households", "Poor households.", "Keluarga miskin."),
        *(_overlap("poor", n, "Poor households", "Keluarga miskin")
          for n in ("0", "1", "2", "3plus")),
        _count("target_households", "households",
               "Target households (DESIL ≤ 4).", "Keluarga sasaran (DESIL ≤ 4)."),
        *(_overlap("target", n, "Target households", "Keluarga sasaran")
          for n in ("0", "1", "2", "3plus")),
    ),
)

# --------------------------------------------------------------------------- funding_sources

FUNDING_SOURCES = Table(
    name="funding_sources",
    grain_en="one row per period × area × funding source",
    grain_id="satu baris per periode × wilayah × sumber dana",
    key=("period", "area_level", "area_code", "funding_source"),
    area=True,
    columns=AREA_COLUMNS + (
        _c("funding_source", "VARCHAR", "code", "key",
           "Funding source: APBN, APBD, DBHCHT, DAK, BAZNAS or CSR.",
           "Sumber dana: APBN, APBD, DBHCHT, DAK, BAZNAS atau CSR."),
        _count("recipient_households", "households",
               "Recipient households of programs paid from this source in the window.",
               "Keluarga penerima program yang dibiayai sumber dana ini dalam jendela."),
        _amount("amount_idr", "idr_window", "recipient_households",
                "Successful amount from this source in the window.",
                "Nilai bantuan berhasil dari sumber dana ini dalam jendela."),
        _count("unmatched_records", "records",
               "Successful records of this source in the window that matched no registered "
               "household, attributed to the kelurahan named on the record (or the city row "
               "when none).",
               "Catatan berhasil dari sumber dana ini dalam jendela yang tidak cocok dengan "
               "keluarga terdaftar mana pun, dicatat di kelurahan pada catatan (atau baris kota "
               "bila tidak ada).", additive=False),
        _amount("unmatched_amount_idr", "idr_window", "unmatched_records",
                "Amount of those unmatched records: money paid that reached no registered "
                "household but still came from this source.",
                "Nilai catatan yang tidak cocok tersebut: uang yang dibayar dan tidak sampai ke "
                "keluarga terdaftar, tetapi tetap berasal dari sumber dana ini.",
                additive=False),
    ),
)

# --------------------------------------------------------------------------- data quality

_RUN_ID = _c("run_id", "VARCHAR", "code", "key", "Pipeline run id.", "Id proses pipeline.")
_FILE_NAME = _c(
    "file_name", "VARCHAR", "text", "key",
    "Raw file name (a name starting with = + - @ is prefixed with an apostrophe against "
    "spreadsheet formulas).",
    "Nama berkas mentah (nama yang diawali = + - @ diberi awalan apostrof agar tidak dijalankan "
    "sebagai rumus lembar kerja).",
    free_text=True,
)
_SHA256 = _c("sha256", "VARCHAR", "hex", "key", "SHA-256 of the raw file's content.",
             "SHA-256 isi berkas mentah.")

DATA_QUALITY = Table(
    name="data_quality",
    grain_en="one row per run × raw file",
    grain_id="satu baris per proses × berkas mentah",
    # rows per file hold no personal data: exempt from disclosure control (indicators.md)
    key=("run_id", "file_name", "sha256"),
    columns=(
        _RUN_ID,
        _FILE_NAME,
        _c("kind", "VARCHAR", "code", "attribute",
           "Kind of file: households, members, disbursements, pbi or local.",
           "Jenis berkas: households, members, disbursements, pbi atau local."),
        _c("sha256", "VARCHAR", "hex", "key",
           "SHA-256 of the raw file's content; empty for an entry that is not read "
           "(file_outcome ignored).",
           "SHA-256 isi berkas mentah; kosong untuk entri yang tidak dibaca "
           "(file_outcome ignored)."),
        _c("file_outcome", "VARCHAR", "code", "attribute",
           "loaded, already_loaded, quarantined, or ignored (an entry of the raw folder that is "
           "not read: a hidden file, a folder, a link or a file that cannot be opened).",
           "loaded (dimuat), already_loaded (sudah pernah dimuat), quarantined (dikarantina) "
           "atau ignored (entri folder mentah yang tidak dibaca: berkas tersembunyi, folder, "
           "tautan atau berkas yang tidak dapat dibuka)."),
        _c("file_reason", "VARCHAR", "code", "attribute",
           "Reason code when the whole file was quarantined, or file_ignored.",
           "Kode alasan bila seluruh berkas dikarantina, atau file_ignored."),
        _count("rows_read", "rows", "Data rows read from the file.",
               "Baris data yang dibaca dari berkas.", additive=False, disclosure=False),
        _count("accepted", "rows", "Rows accepted.", "Baris yang diterima.", additive=False,
               disclosure=False),
        _count("quarantined", "rows", "Rows quarantined with a reason.",
               "Baris yang dikarantina dengan alasan.", additive=False, disclosure=False),
        _count("duplicate", "rows", "Rows recorded as exact duplicates.",
               "Baris yang dicatat sebagai duplikat persis.", additive=False, disclosure=False),
        _count("skipped_lines", "lines",
               "Title, blank, total and signature lines (not data rows).",
               "Baris judul, kosong, jumlah dan tanda tangan (bukan baris data).",
               additive=False, disclosure=False),
    ),
)

DATA_QUALITY_REASON = Table(
    name="data_quality_reason",
    grain_en="one row per run × raw file × quarantine reason",
    grain_id="satu baris per proses × berkas mentah × alasan karantina",
    key=("run_id", "file_name", "sha256", "reason"),
    packs=frozenset({RESTRICTED}),
    columns=(
        _RUN_ID,
        _FILE_NAME,
        _SHA256,
        _c("reason", "VARCHAR", "code", "key", "Quarantine reason code (input contract).",
           "Kode alasan karantina (kontrak data masukan)."),
        _count("rows", "rows", "Rows quarantined with this reason.",
               "Baris yang dikarantina dengan alasan ini.", additive=False),
    ),
)

# --------------------------------------------------------------------------- flagged fields

_KIND = _c("kind", "VARCHAR", "code", "key",
           "Kind of file: households, members, disbursements, pbi or local.",
           "Jenis berkas: households, members, disbursements, pbi atau local.")
_COLUMN_NAME = _c(
    "column_name", "VARCHAR", "code", "key",
    "Canonical column of the input contract whose value was flagged (e.g. DESIL, NIK, "
    "TANGGAL_LAHIR).",
    "Kolom kanonik kontrak data masukan yang nilainya ditandai (mis. DESIL, NIK, TANGGAL_LAHIR).",
)
_FLAG_REASON = _c(
    "reason", "VARCHAR", "code", "key",
    "Reason code (input contract) of the flagged field: the row was accepted with this field "
    "empty (null).",
    "Kode alasan (kontrak data masukan) kolom yang ditandai: baris diterima dengan kolom ini "
    "dikosongkan (null).",
)

DATA_QUALITY_FIELD = Table(
    name="data_quality_field",
    grain_en="one row per flagged field: raw file × row × column × reason (accepted rows only)",
    grain_id="satu baris per kolom yang ditandai: berkas mentah × baris × kolom × alasan (hanya "
    "baris yang diterima)",
    key=("sha256", "row_number", "column_name", "reason"),
    packs=frozenset({RESTRICTED}),
    columns=(
        _c("household_pseudonym", "VARCHAR", "hex", "attribute",
           "Pseudonym of the household of a household or member row (as in households); null "
           "for a program record.",
           "Pseudonim keluarga dari baris keluarga atau anggota (sama dengan tabel households); "
           "kosong untuk catatan program.", warehouse=REGISTRY_ID_COLUMN),
        _c("period", "DATE", "month", "attribute",
           "Registry snapshot month of a household or member row; month of a program record.",
           "Bulan potret registri untuk baris keluarga atau anggota; bulan catatan program."),
        _c("kelurahan_code", "VARCHAR", "code", "attribute",
           "Kelurahan of the row (a member's: its household's); null when a program record names "
           "none.",
           "Kelurahan baris ini (anggota: kelurahan keluarganya); kosong bila catatan program "
           "tidak menyebut kelurahan."),
        _c("kelurahan_name", "VARCHAR", "text", "attribute", "Kelurahan name.",
           "Nama kelurahan."),
        _KIND,
        _c("file", "VARCHAR", "text", "attribute",
           "Raw file name (a name starting with = + - @ is prefixed with an apostrophe against "
           "spreadsheet formulas).",
           "Nama berkas mentah (nama yang diawali = + - @ diberi awalan apostrof agar tidak "
           "dijalankan sebagai rumus lembar kerja).",
           free_text=True),
        _SHA256,
        _c("row_number", "BIGINT", "number", "key",
           "Row number in the file: 1-based position among the data rows after the header.",
           "Nomor baris dalam berkas: urutan mulai 1 di antara baris data setelah judul kolom."),
        _COLUMN_NAME,
        _FLAG_REASON,
        _c("raw_value", "VARCHAR", "text", "attribute",
           "The value as read; null for personal data (NIK, NO_KK, NAMA, ALAMAT, TANGGAL_LAHIR), "
           "for any date column (a date cannot be told apart from a birth date), for an empty "
           "cell, and for a value of 15 or more digits (an identifier in the wrong column).",
           "Nilai sebagaimana terbaca; kosong untuk data pribadi (NIK, NO_KK, NAMA, ALAMAT, "
           "TANGGAL_LAHIR), untuk semua kolom tanggal (tanggal tidak dapat dibedakan dari "
           "tanggal lahir), untuk sel kosong, dan untuk nilai 15 digit atau lebih (nomor "
           "identitas di kolom yang salah).",
           free_text=True),
    ),
)

DATA_QUALITY_FIELD_SUMMARY = Table(
    name="data_quality_field_summary",
    grain_en="one row per period × kelurahan × kind of file × column × reason with flagged "
    "fields",
    grain_id="satu baris per periode × kelurahan × jenis berkas × kolom × alasan yang memiliki "
    "kolom ditandai",
    key=("period", "area_code", "kind", "column_name", "reason"),
    # restricted only: its rows are not an area hierarchy (the root row holds only the records
    # naming no kelurahan), and the Bappeda pack's data_coverage already says how much of the
    # registry each figure stands on
    packs=frozenset({RESTRICTED}),
    columns=(
        _c("period", "DATE", "month", "key",
           "Registry snapshot month (households, members) or record month (program lists).",
           "Bulan potret registri (keluarga, anggota) atau bulan catatan (daftar program)."),
        _c("area_level", "VARCHAR", "code", "attribute",
           "kelurahan; the region's level (e.g. kota) for program records naming no kelurahan.",
           "kelurahan; tingkat wilayah (mis. kota) untuk catatan program tanpa kelurahan."),
        _c("area_code", "VARCHAR", "code", "key",
           "Kelurahan code, or the region's code for program records naming no kelurahan.",
           "Kode kelurahan, atau kode wilayah untuk catatan program tanpa kelurahan."),
        _c("area_name", "VARCHAR", "text", "attribute", "Area name.", "Nama wilayah."),
        _KIND,
        _COLUMN_NAME,
        _FLAG_REASON,
        _count("rows", "rows", "Flagged fields (one per row, column and reason).",
               "Jumlah kolom yang ditandai (satu per baris, kolom dan alasan).", additive=False),
    ),
)

# --------------------------------------------------------------------------- data coverage

DATA_COVERAGE = Table(
    name="data_coverage",
    grain_en="one row per period × area (every kelurahan, every kecamatan, the city)",
    grain_id="satu baris per periode × wilayah (setiap kelurahan, kecamatan, dan kota)",
    key=("period", "area_level", "area_code"),
    area=True,
    columns=AREA_COLUMNS + (
        _c("snapshot_age_months", "INTEGER", "number", "attribute",
           "Months from the registry snapshot used to the period (m − s(m)): figures of a "
           "period without its own snapshot describe the households as they were then.",
           "Jumlah bulan dari potret registri yang dipakai sampai periode (m − s(m)): angka "
           "periode tanpa potret sendiri menggambarkan keluarga seperti pada potret itu."),
        _c("poverty_line_effective_from", "DATE", "month", "attribute",
           "First month of the poverty line in force for the period.",
           "Bulan pertama berlakunya garis kemiskinan yang dipakai untuk periode ini."),
        _c("poverty_line_age_months", "INTEGER", "number", "attribute",
           "Months from the poverty line's effective_from to the period (a line older than 18 "
           "months is out of date).",
           "Jumlah bulan dari mulai berlakunya garis kemiskinan sampai periode (garis yang lebih "
           "tua dari 18 bulan sudah usang)."),
        _line_column("poverty_line_scope"),
        _count("household_rows_accepted", "rows",
               "Household rows of the snapshot accepted for the area (= households).",
               "Baris keluarga potret yang diterima untuk wilayah ini (= households)."),
        _count("household_rows_quarantined", "rows",
               "Household rows of the snapshot's files quarantined, counted in the kelurahan "
               "their code or name resolves to (else in the city row only).",
               "Baris keluarga dari berkas potret yang dikarantina, dihitung di kelurahan yang "
               "dikenali dari kode atau namanya (selain itu hanya di baris kota).",
               additive=False),
        _count("member_rows_accepted", "rows",
               "Member rows of the snapshot accepted for the area (= population).",
               "Baris anggota keluarga potret yang diterima untuk wilayah ini (= population)."),
        _count("member_rows_quarantined", "rows",
               "Member rows of the snapshot's files quarantined, counted where their household "
               "lives (else in the city row only).",
               "Baris anggota keluarga dari berkas potret yang dikarantina, dihitung di tempat "
               "keluarganya tinggal (selain itu hanya di baris kota).",
               additive=False),
        _count("households_with_flagged_field", "households",
               "Accepted household rows of the snapshot with at least one flagged field (a "
               "value nulled by a warning: the registry's correction list).",
               "Baris keluarga potret yang diterima dengan minimal satu isian yang ditandai "
               "(nilai dikosongkan karena peringatan: daftar perbaikan registri)."),
        _count("members_with_flagged_field", "persons",
               "Accepted member rows of the snapshot with at least one flagged field, counted "
               "where their household lives.",
               "Baris anggota keluarga potret yang diterima dengan minimal satu isian yang "
               "ditandai, dihitung di tempat keluarganya tinggal."),
        _count("mpi_incomplete_population", "persons",
               "Persons in households left out of the MPI sample for missing data (N − N_mpi, "
               "as kelurahan_poverty.mpi_incomplete_population): the MPI figures stand on the "
               "rest.",
               "Penduduk pada keluarga yang dikeluarkan dari sampel MPI karena data tidak "
               "lengkap (N − N_mpi, sama dengan kelurahan_poverty.mpi_incomplete_population): "
               "angka MPI berdiri di atas sisanya."),
    ),
)

# --------------------------------------------------------------------------- source pulls

SOURCE_PULLS = Table(
    name="source_pulls",
    grain_en="one row per pull of a file from a configured source (or per source that failed)",
    grain_id="satu baris per pengambilan berkas dari sumber yang dikonfigurasi (atau per sumber "
    "yang gagal)",
    key=("run_id", "source", "remote_path", "pulled_at"),
    columns=(
        _c("run_id", "VARCHAR", "code", "key", "Run id of the pull (the nightly run's id).",
           "Id proses pengambilan (id proses malam)."),
        _c("source", "VARCHAR", "code", "key", "Source name in sources.toml.",
           "Nama sumber di sources.toml."),
        _c("remote_path", "VARCHAR", "text", "key",
           "URL of the remote file (of the source when the source could not be pulled), "
           "without user name or password.",
           "URL berkas jarak jauh (URL sumber bila sumber tidak dapat diambil), tanpa nama "
           "pengguna atau kata sandi.",
           free_text=True),
        _c("size", "BIGINT", "bytes", "attribute", "Size of the remote file as listed.",
           "Ukuran berkas jarak jauh menurut daftar."),
        _c("remote_modified", "TIMESTAMP", "timestamp_utc", "attribute",
           "Modification time of the remote file as listed.",
           "Waktu perubahan berkas jarak jauh menurut daftar."),
        _c("sha256", "VARCHAR", "hex", "attribute",
           "SHA-256 of the downloaded content (null when nothing was verified).",
           "SHA-256 isi yang diunduh (kosong bila tidak ada yang diverifikasi)."),
        _c("pulled_at", "TIMESTAMP", "timestamp_utc", "key", "When the pull was recorded.",
           "Waktu pengambilan dicatat."),
        _c("outcome", "VARCHAR", "code", "attribute",
           "pulled (landed under its name), renamed (changed content landed under a revision "
           "name <name>__rNN), unchanged (same content as its last pull), already_present (the "
           "raw folder already had it), unstable (changed during the download: tried again "
           "next time) or failed (the source could not be pulled, or the file is over the size "
           "limit).",
           "pulled (masuk dengan namanya), renamed (isi yang berubah masuk dengan nama revisi "
           "<nama>__rNN), unchanged (isi sama dengan pengambilan terakhir), already_present "
           "(sudah ada di folder mentah), unstable (berubah saat diunduh: dicoba lagi "
           "berikutnya) atau failed (sumber tidak dapat diambil, atau berkas melebihi batas "
           "ukuran)."),
        _c("local_name", "VARCHAR", "text", "attribute",
           "File name in the raw folder (null when nothing landed).",
           "Nama berkas di folder mentah (kosong bila tidak ada yang masuk).",
           free_text=True),
        _c("reason", "VARCHAR", "text", "attribute",
           "Cause of a failed or unstable pull: a category and the error's class, never the "
           "server's message.",
           "Penyebab pengambilan yang gagal atau tidak stabil: kategori dan kelas galat, tidak "
           "pernah pesan dari server."),
    ),
)

# --------------------------------------------------------------------------- households

HOUSEHOLDS = Table(
    name="households",
    grain_en="one row per household of the latest usable registry snapshot",
    grain_id="satu baris per keluarga pada potret registri terakhir yang layak pakai",
    key=("household_pseudonym",),
    packs=frozenset({RESTRICTED}),
    columns=(
        _c("household_pseudonym", "VARCHAR", "hex", "key",
           "Pseudonym of the household: HMAC-SHA256 of the registry id with the secret key "
           "(same key, same pseudonym across runs; the key is never exported).",
           "Pseudonim keluarga: HMAC-SHA256 dari id registri dengan kunci rahasia (kunci sama, "
           "pseudonim sama antarproses; kunci tidak pernah diekspor).",
           warehouse=REGISTRY_ID_COLUMN),
        SNAPSHOT,
        _c("kelurahan_code", "VARCHAR", "code", "attribute", "Kelurahan code (Kemendagri).",
           "Kode kelurahan (Kemendagri)."),
        _c("kelurahan_name", "VARCHAR", "text", "attribute", "Kelurahan name.",
           "Nama kelurahan."),
        _c("kecamatan_code", "VARCHAR", "code", "attribute", "Kecamatan code (Kemendagri).",
           "Kode kecamatan (Kemendagri)."),
        _c("rt", "SMALLINT", "number", "attribute", "RT (neighbourhood unit) number.",
           "Nomor RT."),
        _c("rw", "SMALLINT", "number", "attribute", "RW (community unit) number.",
           "Nomor RW."),
        _c("household_size", "INTEGER", "persons", "attribute",
           "Accepted member rows of the household (n_h).",
           "Jumlah anggota keluarga yang diterima (n_h)."),
        _c("desil", "TINYINT", "decile", "attribute",
           "National welfare decile (1 = poorest); null when the registry's value was invalid "
           "(a flagged field, see data_quality_field).",
           "Desil kesejahteraan nasional (1 = termiskin); kosong bila nilai di registri tidak "
           "sah (kolom yang ditandai, lihat data_quality_field)."),
        _c("pengeluaran_per_kapita", "DECIMAL(18,2)", "idr_capita_month", "attribute",
           "Registry estimate of monthly per-capita expenditure y_h.",
           "Perkiraan pengeluaran per kapita per bulan menurut registri (y_h)."),
        _c("poor", "BOOLEAN", "boolean", "attribute",
           "y_h below the poverty line of the snapshot's month.",
           "y_h di bawah garis kemiskinan bulan potret."),
        _c("extreme_poor", "BOOLEAN", "boolean", "attribute",
           "y_h below the extreme-poverty line (null when not configured).",
           "y_h di bawah garis kemiskinan ekstrem (kosong bila tidak ditetapkan)."),
        _c("near_poor", "BOOLEAN", "boolean", "attribute",
           "z ≤ y_h < 1.2 z (near-poor).", "z ≤ y_h < 1,2 z (hampir miskin)."),
        _c("poverty_line_idr", "DECIMAL(18,2)", "idr_capita_month", "attribute",
           "Poverty line z the household was judged with: its kabupaten/kota's line in force "
           "for the latest period.",
           "Garis kemiskinan z yang dipakai untuk keluarga ini: garis kabupaten/kotanya yang "
           "berlaku pada periode terakhir."),
        *LINE_COLUMNS[1:],
        _c("mpi_score", "DECIMAL(5,4)", "score", "attribute",
           "Deprivation score c_h (sum of weights of the indicators the household is "
           "deprived in; computed exactly in eighteenths, shown to 4 decimals); null when an "
           "indicator is missing (the household is outside the MPI sample).",
           "Skor deprivasi c_h (jumlah bobot indikator yang dialami keluarga; dihitung tepat "
           "dalam perdelapanbelasan, ditampilkan 4 desimal); kosong bila ada indikator yang "
           "hilang (keluarga di luar sampel MPI)."),
        _c("mpi_poor", "BOOLEAN", "boolean", "attribute",
           "Multidimensionally poor: c_h ≥ 1/3 (null outside the MPI sample).",
           "Miskin multidimensi: c_h ≥ 1/3 (kosong di luar sampel MPI)."),
        _c("programs_received", "VARCHAR[]", "programs", "attribute",
           "Programs received in the 12-month window ending with the snapshot month.",
           "Program yang diterima dalam jendela 12 bulan yang berakhir pada bulan potret."),
        _c("program_count", "INTEGER", "count_programs", "attribute",
           "Number of distinct programs received.", "Jumlah program berbeda yang diterima."),
        _c("unreached_poor", "BOOLEAN", "boolean", "attribute",
           "Poor household that received no program at all: the working list for finding the "
           "unreached poor.",
           "Keluarga miskin yang tidak menerima program apa pun: daftar kerja untuk menjangkau "
           "keluarga miskin yang terlewat."),
    ),
)

# --------------------------------------------------------------------------- poverty_profile

#: Profile groups (indicators.md, "Profiles"): code -> (English, Bahasa Indonesia).
PROFILE_GROUPS: dict[str, tuple[str, str]] = {
    "head_female": ("households headed by a woman", "keluarga dengan kepala keluarga perempuan"),
    "head_60plus": ("households whose head is aged 60+", "keluarga dengan kepala berusia 60+"),
    "member_disabled": ("households with a member with a disability",
                        "keluarga dengan anggota penyandang disabilitas"),
    "member_70plus": ("households with a member aged 70+", "keluarga dengan anggota berusia 70+"),
    "children_0_17": ("children aged 0–17", "anak usia 0–17 tahun"),
    "children_0_6": ("children aged 0–6", "anak usia 0–6 tahun"),
    "elderly_60plus": ("persons aged 60+", "penduduk lanjut usia 60+"),
    "persons_disabled": ("persons with a disability", "penyandang disabilitas"),
}

POVERTY_PROFILE = Table(
    name="poverty_profile",
    grain_en="one row per period × area (every kelurahan, every kecamatan, the city) × profile "
    "group",
    grain_id="satu baris per periode × wilayah (setiap kelurahan, kecamatan, dan kota) × "
    "kelompok profil",
    key=("period", "area_level", "area_code", "profile_group"),
    area=True,
    columns=AREA_COLUMNS + (
        _c("profile_group", "VARCHAR", "code", "key",
           "Group: household groups (every member of the household counts) head_female (head, "
           "HUBUNGAN_KELUARGA = 1, is a woman), head_60plus, member_disabled, member_70plus; "
           "person groups children_0_17, children_0_6, elderly_60plus, persons_disabled. Ages "
           "are whole years on the last day of the snapshot month. A household without exactly "
           "one accepted head row, or whose head's sex or birth date is flagged, is in no head "
           "group; a person whose birth date or disability is flagged is in no group needing "
           "it.",
           "Kelompok: kelompok keluarga (seluruh anggota keluarga dihitung) head_female (kepala "
           "keluarga perempuan), head_60plus (kepala 60+), member_disabled (ada anggota "
           "disabilitas), member_70plus (ada anggota 70+); kelompok orang children_0_17, "
           "children_0_6, elderly_60plus, persons_disabled. Umur dalam tahun penuh pada hari "
           "terakhir bulan potret. Keluarga tanpa tepat satu kepala keluarga yang diterima, "
           "atau yang jenis kelamin/tanggal lahir kepalanya ditandai, tidak masuk kelompok "
           "kepala; orang yang tanggal lahir atau status disabilitasnya ditandai tidak masuk "
           "kelompok yang memerlukannya."),
        _count("population", "persons",
               "Persons of the group (household groups: every member of the group's "
               "households).",
               "Jumlah jiwa dalam kelompok (kelompok keluarga: seluruh anggota keluarganya)."),
        _count("poor_population", "persons",
               "Persons of the group in households below the poverty line (null when no line).",
               "Jiwa kelompok ini di keluarga di bawah garis kemiskinan (kosong bila tidak ada "
               "garis)."),
        _ratio("p0", "population", "poor_population",
               "Headcount index of the group: poor_population / population.",
               "Tingkat kemiskinan kelompok: poor_population / population."),
        _count("extreme_poor_population", "persons",
               "Persons of the group below the extreme-poverty line (null when not configured).",
               "Jiwa kelompok ini di bawah garis kemiskinan ekstrem (kosong bila tidak "
               "ditetapkan)."),
        _count("mpi_poor_population", "persons",
               "Persons of the group in multidimensionally poor households (c_h ≥ 1/3), among "
               "the group's persons in the MPI sample.",
               "Jiwa kelompok ini di keluarga miskin multidimensi (c_h ≥ 1/3), di antara jiwa "
               "kelompok dalam sampel IKM."),
        _count("households", "households",
               "Households of the group (person groups: households with at least one such "
               "person).",
               "Jumlah keluarga kelompok (kelompok orang: keluarga dengan minimal satu orang "
               "seperti itu)."),
    ),
)

# --------------------------------------------------------------------------- poverty_transitions

#: Transition states (indicators.md, "Poverty dynamics"): code -> (English, Bahasa Indonesia).
TRANSITION_STATES: dict[str, tuple[str, str]] = {
    "stayed_poor": ("poor in both snapshots", "miskin di kedua potret"),
    "entered_poverty": ("not poor in the first snapshot, poor in the second",
                        "tidak miskin di potret pertama, miskin di potret kedua"),
    "exited_poverty": ("poor in the first snapshot, not poor in the second",
                       "miskin di potret pertama, tidak miskin di potret kedua"),
    "stayed_non_poor": ("not poor in both snapshots", "tidak miskin di kedua potret"),
    "new": ("only in the second snapshot", "hanya ada di potret kedua"),
    "left": ("only in the first snapshot (counted where it lived then)",
             "hanya ada di potret pertama (dihitung di tempat tinggal saat itu)"),
}


def _transition_columns() -> tuple[Column, ...]:
    columns: list[Column] = []
    for state, (en, id_) in TRANSITION_STATES.items():
        persons_en = "of the first snapshot" if state == "left" else "of the second snapshot"
        persons_id = "pada potret pertama" if state == "left" else "pada potret kedua"
        null_en = "" if state in ("new", "left") else (
            " Null when either snapshot month has no poverty line.")
        null_id = "" if state in ("new", "left") else (
            " Kosong bila salah satu bulan potret tidak punya garis kemiskinan.")
        columns.append(_count(
            f"{state}_households", "households",
            f"Households followed by ID_KELUARGA that are {en}.{null_en}",
            f"Keluarga (diikuti menurut ID_KELUARGA) yang {id_}.{null_id}"))
        columns.append(_count(
            f"{state}_population", "persons",
            f"Persons ({persons_en}) of the households {en}.{null_en}",
            f"Jiwa ({persons_id}) dari keluarga yang {id_}.{null_id}"))
    window_en = (" that received at least one program (any catalog program, PBI-JK and in-kind "
                 "included) in the 12-month reach window ending with the second snapshot's month. "
                 "Descriptive only: receipt beside an exit is not evidence that the program "
                 "caused it. Null when either snapshot month has no poverty line.")
    window_id = (" yang menerima minimal satu program (program katalog mana pun, termasuk PBI-JK "
                 "dan natura) dalam jendela 12 bulan yang berakhir pada bulan potret kedua. "
                 "Hanya deskriptif: menerima program bersamaan dengan keluar dari kemiskinan "
                 "bukan bukti bahwa program menjadi penyebabnya. Kosong bila salah satu bulan "
                 "potret tidak punya garis kemiskinan.")
    columns.append(_count("exited_poverty_recipient_households", "households",
                          "Households that exited poverty" + window_en,
                          "Keluarga yang keluar dari kemiskinan" + window_id))
    columns.append(_count("stayed_poor_recipient_households", "households",
                          "Households that stayed poor" + window_en,
                          "Keluarga yang tetap miskin" + window_id))
    return tuple(columns)


POVERTY_TRANSITIONS = Table(
    name="poverty_transitions",
    grain_en="one row per pair of consecutive usable registry snapshots × area (every "
    "kelurahan, every kecamatan, the city)",
    grain_id="satu baris per pasangan potret registri berurutan yang layak pakai × wilayah "
    "(setiap kelurahan, kecamatan, dan kota)",
    key=("snapshot_from", "area_level", "area_code"),
    area=True,
    columns=(
        _c("snapshot_from", "DATE", "month", "key",
           "First snapshot s1 of the pair; each household is judged with the poverty line in "
           "force in its own snapshot month.",
           "Potret pertama s1; setiap keluarga dinilai dengan garis kemiskinan yang berlaku pada "
           "bulan potretnya sendiri."),
        _c("snapshot_to", "DATE", "month", "attribute",
           "The next usable snapshot s2.", "Potret layak pakai berikutnya s2."),
        *AREA_COLUMNS[1:5],
        *_transition_columns(),
    ),
)

# --------------------------------------------------------------------------- simulation results

SIMULATION_RESULTS = Table(
    name="simulation_results",
    grain_en="one row per scenario × area (every kelurahan, every kecamatan, the city) of a "
    "`tkpk simulate` scenario file; written to <out>/simulations/<file stem>/, not in the packs",
    grain_id="satu baris per skenario × wilayah dari berkas skenario `tkpk simulate`; ditulis "
    "ke <out>/simulations/<nama berkas>/, bukan bagian paket",
    key=("scenario", "area_level", "area_code"),
    packs=frozenset(),
    built_by="tkpk/simulate.py",
    columns=(
        _c("scenario", "VARCHAR", "text", "key", "Scenario name (the file's `name`).",
           "Nama skenario (`name` pada berkas)."),
        _c("period", "DATE", "month", "attribute",
           "The scenario's period m: its snapshot s(m) and poverty lines.",
           "Periode skenario m: potret s(m) dan garis kemiskinannya."),
        *AREA_COLUMNS[1:5],
        *(
            _c(f"{figure}_{when}", "BIGINT" if figure == "poor_population" else "DOUBLE",
               "persons" if figure == "poor_population" else "fraction",
               "count" if figure == "poor_population" else "ratio",
               f"{label_en} {when} the transfer (after: recomputed with y'_h = y_h + t_h / n_h).",
               f"{label_id} {'sebelum' if when == 'before' else 'sesudah'} transfer (sesudah: "
               "dihitung ulang dengan y'_h = y_h + t_h / n_h).",
               denominator="population" if figure != "poor_population" else None)
            for figure, label_en, label_id in (
                ("p0", "Headcount index P0", "Tingkat kemiskinan P0"),
                ("p1", "Poverty gap index P1", "Indeks kedalaman P1"),
                ("p2", "Severity index P2", "Indeks keparahan P2"),
                ("extreme_p0", "Extreme-poverty headcount index", "Tingkat kemiskinan ekstrem"),
                ("poor_population", "Poor persons", "Penduduk miskin"),
            )
            for when in ("before", "after")
        ),
        _count("persons_lifted", "persons",
               "Persons poor before the transfer and not poor after (a household paid its "
               "whole gap ends exactly at the line: not poor).",
               "Jiwa yang miskin sebelum dan tidak miskin sesudah transfer (keluarga yang "
               "kesenjangannya dibayar penuh tepat di garis: tidak miskin)."),
        _c("spent_idr_month", "DOUBLE", "idr_month", "amount",
           "Transfers to the area's households, rupiah per month (lift_closest leaves what does "
           "not fit unspent; fill_bottom stops when every eligible person is at the line).",
           "Transfer ke keluarga di wilayah ini, rupiah per bulan (lift_closest tidak "
           "membelanjakan sisa yang tidak cukup; fill_bottom berhenti bila semua yang berhak "
           "sudah di garis).", basis="persons_lifted"),
        _c("spent_on_poor_idr_month", "DOUBLE", "idr_month", "amount",
           "Of spent_idr_month, transfers to households poor before the transfer.",
           "Bagian spent_idr_month yang diterima keluarga miskin sebelum transfer.",
           basis="persons_lifted"),
        _c("leakage", "DOUBLE", "fraction", "ratio",
           "1 − spent_on_poor / spent (null when nothing is spent).",
           "1 − spent_on_poor / spent (kosong bila tidak ada yang dibelanjakan)."),
        _c("gap_closed", "DOUBLE", "fraction", "ratio",
           "1 − poverty gap after / before, the gap Σ n_h (z − y_h) over the poor in rupiah "
           "(null when there is no gap before).",
           "1 − kesenjangan kemiskinan sesudah / sebelum, kesenjangan Σ n_h (z − y_h) atas "
           "penduduk miskin dalam rupiah (kosong bila tidak ada kesenjangan)."),
        _c("cost_per_person_lifted_idr_month", "DOUBLE", "idr_month", "amount",
           "spent_idr_month / persons_lifted of the area (null when nobody is lifted).",
           "spent_idr_month / persons_lifted di wilayah ini (kosong bila tidak ada yang "
           "keluar dari kemiskinan).", basis="persons_lifted"),
        _c("budget_to_end_extreme_poverty_idr_month", "DOUBLE", "idr_month", "amount",
           "Σ n_h (z_e − y_h) over the area's extreme poor before the transfer: the "
           "perfect-targeting floor (null when no extreme line is configured).",
           "Σ n_h (z_e − y_h) atas penduduk miskin ekstrem wilayah sebelum transfer: "
           "anggaran minimum bila sasaran sempurna (kosong bila garis ekstrem tidak "
           "ditetapkan).", basis="persons_lifted"),
    ),
)

#: Every exported table, in export order.
TABLES: tuple[Table, ...] = (
    KELURAHAN_POVERTY,
    PROGRAM_REACH,
    PROGRAM_INCIDENCE,
    PROGRAM_OVERLAP,
    FUNDING_SOURCES,
    DATA_QUALITY,
    DATA_QUALITY_REASON,
    SOURCE_PULLS,
    HOUSEHOLDS,
    DATA_QUALITY_FIELD,
    DATA_QUALITY_FIELD_SUMMARY,
    DATA_COVERAGE,
    POVERTY_PROFILE,
    POVERTY_TRANSITIONS,
)
TABLES_BY_NAME = {t.name: t for t in TABLES}
#: Every table the registry declares: the exported ones and the decision tools' outputs.
REGISTRY: tuple[Table, ...] = (*TABLES, SIMULATION_RESULTS)
REGISTRY_BY_NAME = {t.name: t for t in REGISTRY}
#: Tables about the inputs' quality whose ``period`` is a snapshot or record month, not a
#: reported period of the figures (left out of a pack's period range).
DATA_QUALITY_TABLES = (DATA_QUALITY_FIELD.name, DATA_QUALITY_FIELD_SUMMARY.name)

# --------------------------------------------------------------------------- relations


@dataclass(frozen=True)
class Term:
    """A column of an exported table in a relation (``root_only``: the region's root row only)."""

    table: str
    column: str
    coef: float = 1.0
    root_only: bool = False


@dataclass(frozen=True)
class Relation:
    """An exact equation between published values, declared once (docs/contract/indicators.md).

    The Bappeda pack's secondary suppression and the dictionary tests read these; the area
    hierarchy (a kecamatan or city value is the sum of its parts, for every count and amount of an
    area table) is implied by ``Table.area`` and needs no declaration. Kinds:

    - ``sum``: Σ ``total`` = Σ ``parts`` over the rows of each side sharing the ``by`` values;
    - ``equal``: the cells of ``parts`` sharing the ``by`` values are one quantity published
      several times (cells holding the same value are linked);
    - ``ratio``: ``total`` (the ratio) = Σ ``parts`` (numerator, with coefficients) / ``other``
      (the denominator), rows matched on ``by``;
    - ``complement``: Σ ``parts`` = 1 over the rows sharing ``by``;
    - ``product``: ``total`` = ``parts[0]`` × ``parts[1]`` in one row.

    An equation is used only where it holds on the unsuppressed values (a null in it, e.g. an
    undefined ratio, drops it).
    """

    kind: str
    name: str
    by: tuple[str, ...]
    parts: tuple[Term, ...]
    total: tuple[Term, ...] = ()
    other: Term | None = None


_AREA_KEY = ("period", "area_level", "area_code")
_REACH_KEY = _AREA_KEY + ("program",)


def _ratio_relation(table: str, ratio: str, numerator: tuple[Term, ...], denominator: Term,
                    by: tuple[str, ...]) -> Relation:
    return Relation("ratio", f"{table}.{ratio}", by, numerator, (Term(table, ratio),), denominator)


RELATIONS: tuple[Relation, ...] = (
    *(
        Relation(
            "sum", f"program_overlap {group} buckets", _AREA_KEY,
            tuple(Term("program_overlap", f"{group}_programs_{n}")
                  for n in ("0", "1", "2", "3plus")),
            (Term("program_overlap", f"{group}_households"),),
        )
        for group in ("poor", "target")
    ),
    *(
        Relation(
            "sum", f"program_incidence {column} deciles", ("period", "program"),
            (Term("program_incidence", column),),
            (Term("program_reach", column, root_only=True),),
        )
        for column in ("recipient_households", "amount_idr")
    ),
    Relation(
        "sum", "funding_sources amount = program_reach amount", _AREA_KEY,
        (Term("funding_sources", "amount_idr"),), (Term("program_reach", "amount_idr"),),
    ),
    Relation(
        "equal", "poor households", _AREA_KEY,
        (Term("kelurahan_poverty", "poor_households"), Term("program_overlap", "poor_households"),
         Term("program_reach", "poor_households")),
    ),
    Relation(
        "equal", "households", _AREA_KEY,
        (Term("kelurahan_poverty", "households"), Term("data_coverage", "household_rows_accepted")),
    ),
    Relation(
        "equal", "population", _AREA_KEY,
        (Term("kelurahan_poverty", "population"), Term("data_coverage", "member_rows_accepted")),
    ),
    Relation(
        "equal", "target households", _AREA_KEY,
        (Term("kelurahan_poverty", "households_desil_1_4"),
         Term("program_overlap", "target_households"), Term("program_reach", "target_households")),
    ),
    *(
        _ratio_relation("kelurahan_poverty", ratio, (Term("kelurahan_poverty", numerator),),
                        Term("kelurahan_poverty", "population"), _AREA_KEY)
        for ratio, numerator in (("p0", "poor_population"),
                                 ("extreme_p0", "extreme_poor_population"))
    ),
    _ratio_relation("kelurahan_poverty", "mpi_h",
                    (Term("kelurahan_poverty", "mpi_poor_population"),),
                    Term("kelurahan_poverty", "mpi_population"), _AREA_KEY),
    Relation(
        "sum", "population = MPI sample + left out for missing data", _AREA_KEY,
        (Term("kelurahan_poverty", "mpi_population"),
         Term("kelurahan_poverty", "mpi_incomplete_population")),
        (Term("kelurahan_poverty", "population"),),
    ),
    Relation(
        "equal", "persons left out of the MPI sample", _AREA_KEY,
        (Term("kelurahan_poverty", "mpi_incomplete_population"),
         Term("data_coverage", "mpi_incomplete_population")),
    ),
    _ratio_relation("poverty_profile", "p0", (Term("poverty_profile", "poor_population"),),
                    Term("poverty_profile", "population"), _AREA_KEY + ("profile_group",)),
    Relation("product", "mpi_m0 = mpi_h × mpi_a", _AREA_KEY,
             (Term("kelurahan_poverty", "mpi_h"), Term("kelurahan_poverty", "mpi_a")),
             (Term("kelurahan_poverty", "mpi_m0"),)),
    _ratio_relation("program_reach", "coverage_target",
                    (Term("program_reach", "recipient_target_households"),),
                    Term("program_reach", "target_households"), _REACH_KEY),
    _ratio_relation("program_reach", "exclusion_error",
                    (Term("program_reach", "target_households"),
                     Term("program_reach", "recipient_target_households", -1.0)),
                    Term("program_reach", "target_households"), _REACH_KEY),
    _ratio_relation("program_reach", "inclusion_error",
                    (Term("program_reach", "recipient_households"),
                     Term("program_reach", "recipient_target_households", -1.0)),
                    Term("program_reach", "recipient_households"), _REACH_KEY),
    _ratio_relation("program_reach", "coverage_poor",
                    (Term("program_reach", "recipient_poor_households"),),
                    Term("program_reach", "poor_households"), _REACH_KEY),
    _ratio_relation("program_reach", "adequacy", (Term("program_reach", "amount_idr"),),
                    Term("program_reach", "recipient_consumption_idr_year"), _REACH_KEY),
    Relation("complement", "coverage_target + exclusion_error = 1", _REACH_KEY,
             (Term("program_reach", "coverage_target"), Term("program_reach", "exclusion_error"))),
    *(
        _ratio_relation("program_incidence", ratio, (Term("program_incidence", column),),
                        Term("program_reach", column, root_only=True), ("period", "program"))
        for ratio, column in (("beneficiary_incidence", "recipient_households"),
                              ("benefit_incidence", "amount_idr"))
    ),
    *(
        Relation("complement", f"Σ {ratio} over deciles = 1", ("period", "program"),
                 (Term("program_incidence", ratio),))
        for ratio in ("beneficiary_incidence", "benefit_incidence")
    ),
)

#: Column names that must never appear in an export (personal data, or its raw identifier).
PERSONAL_COLUMN_PATTERN = (
    r"^(nik.*|.*_nik|no_?kk|nomor_kk|.*no_kk.*|nama|nama_.*|.*_nama|name|full_name|alamat|"
    r"address|tanggal_lahir|tgl_lahir|birth.*|date_of_birth|dob|id_keluarga|no_kartu|noka|"
    r"no_kartu_jkn|phone|telepon|no_hp)$"
)


def pack_tables(pack: str) -> list[Table]:
    """The tables exported in ``pack``."""
    return [t for t in TABLES if pack in t.packs]


def flag_column(name: str) -> str:
    """The Bappeda flag column of a suppressible column."""
    return f"{name}_suppressed"


def flag_definition(column: Column) -> Column:
    """The dictionary entry of a Bappeda flag column."""
    return _c(
        flag_column(column.name), "BOOLEAN", "boolean", "attribute",
        f"True when {column.name} is withheld (published as null) by disclosure control; "
        "false when shown or when the value is undefined.",
        f"Benar (true) bila {column.name} disembunyikan (dikosongkan) karena kontrol "
        "pengungkapan statistik; salah (false) bila ditampilkan atau nilainya memang tidak "
        "terdefinisi.",
    )


def exported_columns(table: Table, pack: str) -> list[Column]:
    """The columns of ``table`` as exported in ``pack`` (flags follow their column in Bappeda)."""
    columns: list[Column] = []
    for column in table.columns:
        columns.append(column)
        if pack == BAPPEDA and column.suppressible:
            columns.append(flag_definition(column))
    return columns


# --------------------------------------------------------------------------- rendering

DICTIONARY_FIELDS = [
    "table",
    "column",
    "type",
    "kind",
    "unit_en",
    "unit_id",
    "definition_en",
    "definition_id",
    "suppression_en",
    "suppression_id",
]


def _suppression_text(column: Column, pack: str) -> tuple[str, str]:
    """How disclosure control treats ``column`` in ``pack`` (English, Indonesian)."""
    if pack != BAPPEDA or not column.suppressible:
        return "", ""
    if column.kind == "count":
        return (
            f"null when {MIN_COUNT}–{MAX_SMALL_COUNT}",
            f"dikosongkan bila {MIN_COUNT}–{MAX_SMALL_COUNT}",
        )
    if column.kind == "amount":
        return (
            f"null when {column.basis} is {MIN_COUNT}–{MAX_SMALL_COUNT}",
            f"dikosongkan bila {column.basis} bernilai {MIN_COUNT}–{MAX_SMALL_COUNT}",
        )
    en = f"null when denominator ({column.denominator}) < {MIN_DENOMINATOR}"
    id_ = f"dikosongkan bila penyebut ({column.denominator}) < {MIN_DENOMINATOR}"
    if column.numerator:
        en += f" or numerator ({column.numerator}) is {MIN_COUNT}–{MAX_SMALL_COUNT}"
        id_ += f" atau pembilang ({column.numerator}) bernilai {MIN_COUNT}–{MAX_SMALL_COUNT}"
    return en, id_


def dictionary_rows(pack: str) -> list[dict[str, str]]:
    """One row per exported column of ``pack``."""
    rows = []
    for table in pack_tables(pack):
        for column in exported_columns(table, pack):
            unit_en, unit_id = UNITS[column.unit]
            sup_en, sup_id = _suppression_text(column, pack)
            rows.append(
                {
                    "table": table.name,
                    "column": column.name,
                    "type": column.type,
                    "kind": column.kind,
                    "unit_en": unit_en,
                    "unit_id": unit_id,
                    "definition_en": column.en,
                    "definition_id": column.id,
                    "suppression_en": sup_en,
                    "suppression_id": sup_id,
                }
            )
    return rows


def spreadsheet_safe(value: object) -> str:
    """A cell value that a spreadsheet will not run as a formula (OWASP CSV injection; the SQL
    twin is the macro ``spreadsheet_safe`` of ``transforms/publish/macros.sql``)."""
    text = "" if value is None else str(value)
    if text and text[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def render_csv(pack: str) -> str:
    """The dictionary as CSV (UTF-8, formula-injection safe)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=DICTIONARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in dictionary_rows(pack):
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    return buffer.getvalue()


def render_json(pack: str) -> str:
    """The dictionary as JSON: tables with grain, key and columns."""
    rows = dictionary_rows(pack)
    tables = []
    for table in pack_tables(pack):
        tables.append(
            {
                "table": table.name,
                "file": f"{table.name}.parquet",
                "grain_en": table.grain_en,
                "grain_id": table.grain_id,
                "key": list(table.key),
                "columns": [
                    {k: v for k, v in row.items() if k != "table"}
                    for row in rows
                    if row["table"] == table.name
                ],
            }
        )
    document = {"schema_version": SCHEMA_VERSION, "pack": pack, "tables": tables}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(pack: str) -> str:
    """The bilingual dictionary as Markdown (English and Bahasa Indonesia side by side)."""
    rows = dictionary_rows(pack)
    title = {
        RESTRICTED: "restricted pack (task force) / paket terbatas (TKPK)",
        BAPPEDA: "Bappeda pack / paket Bappeda",
    }[pack]
    lines = [
        f"# Data dictionary / Kamus data: {title}",
        "",
        f"Schema version / versi skema: {SCHEMA_VERSION}. Ratios are fractions in [0, 1] "
        "(multiply by 100 for percent) / rasio berupa pecahan 0–1 (kalikan 100 untuk persen). "
        "Figures are registry-based (DTSEN), not BPS's official poverty rate / angka berbasis "
        "registri (DTSEN), bukan angka kemiskinan resmi BPS.",
        "",
    ]
    if pack == BAPPEDA:
        lines += [
            "Disclosure control / kontrol pengungkapan: counts of 1–4 are null with "
            "`<column>_suppressed` = true; ratios are null when their denominator is under 10 or "
            "their numerator count is 1–4; amounts are null when the count they sum over is "
            "1–4. / Hitungan 1–4 dikosongkan dengan `<kolom>_suppressed` = true; rasio "
            "dikosongkan bila penyebutnya kurang dari 10 atau hitungan pembilangnya 1–4; nilai "
            "rupiah dikosongkan bila hitungan yang dijumlahkannya 1–4.",
            "",
        ]
    for table in pack_tables(pack):
        lines += [
            f"## `{table.name}`",
            "",
            f"Grain: {table.grain_en}. / Butir: {table.grain_id}.",
            f"Key / kunci: {', '.join(f'`{k}`' for k in table.key)}. File / berkas: "
            f"`{table.name}.parquet`.",
            "",
            "| column / kolom | type / tipe | unit / satuan | definition | definisi |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in rows:
            if row["table"] != table.name:
                continue
            definition_en = row["definition_en"]
            definition_id = row["definition_id"]
            if row["suppression_en"]:
                definition_en += f" Suppression: {row['suppression_en']}."
                definition_id += f" Penyembunyian: {row['suppression_id']}."
            lines.append(
                f"| `{row['column']}` | {row['type']} | {_md_cell(row['unit_en'])} / "
                f"{_md_cell(row['unit_id'])} | {_md_cell(definition_en)} | "
                f"{_md_cell(definition_id)} |"
            )
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- build-time check

_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")


class ColumnContractError(RuntimeError):
    """A model built columns other than its table's entry in the data dictionary."""


def type_matches(built: str, declared: str) -> bool:
    """Whether a built column of DuckDB type ``built`` exports as ``declared``: the same type, or
    a DECIMAL of the same scale (sums widen the precision; the export casts to the declared one)."""
    if built == declared:
        return True
    wide, narrow = _DECIMAL.fullmatch(built), _DECIMAL.fullmatch(declared)
    return bool(wide and narrow and wide.group(2) == narrow.group(2))


def column_differences(table: Table, built: list[tuple[str, str]]) -> list[str]:
    """What differs between the (name, DuckDB type) columns a model built and ``table``'s
    entry: missing and undocumented columns, then the order, then the types (empty: none)."""
    declared = table.warehouse_columns
    names = [n for n, _ in declared]
    built_names = [n for n, _ in built]
    missing = [n for n in names if n not in built_names]
    extra = [n for n in built_names if n not in names]
    problems = []
    if missing:
        problems.append(f"missing {missing}")
    if extra:
        problems.append(f"not in the dictionary {extra}")
    if not missing and not extra and built_names != names:
        first = next(i for i, (a, b) in enumerate(zip(built_names, names, strict=True)) if a != b)
        problems.append(
            f"order differs from column {first + 1}: built {built_names[first:]}, "
            f"dictionary {names[first:]}"
        )
    types = dict(built)
    wrong = [
        f"{n} built {types[n]}, dictionary {t}"
        for n, t in declared
        if n in types and not type_matches(types[n], t)
    ]
    if wrong:
        problems.append("types: " + "; ".join(wrong))
    return problems


def check_columns(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Check the table ``name`` just built in ``con`` against its registry entry (names, order,
    DuckDB types) and raise ColumnContractError naming its model file and the differing columns.
    Tables the registry does not declare (the intermediate ``int_*`` models) are not checked."""
    table = REGISTRY_BY_NAME.get(name)
    if table is None:
        return
    built = [(row[0], row[1]) for row in con.execute(f'describe "{name}"').fetchall()]
    problems = column_differences(table, built)
    if problems:
        raise ColumnContractError(
            f"transform {table.model_file} builds columns that differ from the data dictionary "
            f"(tkpk/publish/dictionary.py, table {name}): {'; '.join(problems)}"
        )


# --------------------------------------------------------------------------- developer docs

#: The generated developer page (``python -m tkpk.publish.dictionary --docs``).
DOCS_FILE = DOCS_DIR / "data-dictionary.md"
DOCS_COMMAND = "python -m tkpk.publish.dictionary --docs"


def _docs_cell(text: str) -> str:
    """A Markdown table cell whose ``<...>`` outside code spans shows as text, not as HTML."""
    parts = _md_cell(text).split("`")
    return "`".join(p if i % 2 else p.replace("<", "\\<") for i, p in enumerate(parts))


def _packs_text(table: Table) -> str:
    """The packs ``table`` is exported in, or where it is written instead."""
    packs = [p for p in (RESTRICTED, BAPPEDA) if p in table.packs]
    return ", ".join(packs) if packs else "none / tidak ada"


def _docs_table_rows(table: Table) -> list[str]:
    """The Markdown column table of ``table`` (definitions with the Bappeda suppression rule)."""
    lines = [
        "| # | column / kolom | type / tipe | kind / jenis | unit / satuan | definition | "
        "definisi |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    pack = BAPPEDA if BAPPEDA in table.packs else RESTRICTED
    for number, column in enumerate(table.columns, start=1):
        unit_en, unit_id = UNITS[column.unit]
        en, id_ = column.en, column.id
        sup_en, sup_id = _suppression_text(column, pack)
        if sup_en:
            en += f" Bappeda: {sup_en}."
            id_ += f" Bappeda: {sup_id}."
        name = f"`{column.name}`"
        if column.warehouse:
            name += f" (warehouse / gudang: `{column.warehouse}`)"
        lines.append(
            f"| {number} | {name} | {column.type} | {column.kind} | {_docs_cell(unit_en)} / "
            f"{_docs_cell(unit_id)} | {_docs_cell(en)} | {_docs_cell(id_)} |"
        )
    return lines


def render_docs() -> str:
    """``docs/data-dictionary.md``: every table of the registry with its columns, bilingual."""
    lines = [
        "# Data dictionary / Kamus data",
        "",
        f"<!-- Generated from tkpk/publish/dictionary.py by `{DOCS_COMMAND}`: do not edit by "
        "hand (tests/test_dictionary_contract.py keeps it in sync). -->",
        "",
        "Every curated table's columns (names, order, types) are declared once, in "
        "`tkpk/publish/dictionary.py`. The build checks each model's columns against it "
        "(`check_columns`: a model that builds another column list, order or type fails naming "
        "its file); the export casts every column to its type; the packs' "
        "`data_dictionary.{md,csv,json}`, the output suites `expectations/<table>.json` "
        "(`python -m tkpk.publish.suites`) and this page are generated from it. / Kolom setiap "
        "tabel kurasi (nama, urutan, tipe) dideklarasikan sekali, di "
        "`tkpk/publish/dictionary.py`; pemeriksaan saat pembangunan, ekspor, kamus data paket, "
        "suite keluaran dan halaman ini diturunkan darinya.",
        "",
        f"Schema version / versi skema: {SCHEMA_VERSION}. Types are the exported DuckDB (Parquet) "
        "types; a warehouse column may be a wider DECIMAL of the same scale. Kinds / jenis: "
        "`key`, `attribute`, `count`, `amount`, `ratio` (ratios are fractions 0–1 / rasio berupa "
        "pecahan 0–1). In the Bappeda pack every `count`, `amount` and `ratio` column is "
        "followed by `<column>_suppressed` BOOLEAN / di paket Bappeda setiap kolom `count`, "
        "`amount` dan `ratio` diikuti `<kolom>_suppressed` BOOLEAN.",
        "",
        "| table / tabel | built by / dibuat oleh | packs / paket | columns / kolom | grain | "
        "butir |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for table in REGISTRY:
        lines.append(
            f"| [`{table.name}`](#{table.name}) | `{table.model_file}` | {_packs_text(table)} | "
            f"{len(table.columns)} | {_docs_cell(table.grain_en)} | {_docs_cell(table.grain_id)} |"
        )
    lines.append("")
    for table in REGISTRY:
        lines += [
            f"## `{table.name}`",
            "",
            f"Grain: {_docs_cell(table.grain_en)}. / Butir: {_docs_cell(table.grain_id)}.",
            "",
            f"Key / kunci: {', '.join(f'`{k}`' for k in table.key)}. Built by / dibuat oleh: "
            f"`{table.model_file}`. Packs / paket: {_packs_text(table)}.",
            "",
            *_docs_table_rows(table),
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m tkpk.publish.dictionary --docs [--check]``: write (or check) the docs page."""
    parser = argparse.ArgumentParser(prog="python -m tkpk.publish.dictionary")
    parser.add_argument("--docs", action="store_true", help=f"write {DOCS_FILE.name}")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when the committed page differs from the dictionary")
    args = parser.parse_args(argv)
    if not (args.docs or args.check):
        parser.error("nothing to do: give --docs and/or --check")
    text = render_docs()
    if args.check:
        stale = not DOCS_FILE.exists() or DOCS_FILE.read_text(encoding="utf-8") != text
        print(f"{DOCS_FILE} is {'stale: run ' + DOCS_COMMAND if stale else 'up to date'}")
        return 1 if stale else 0
    DOCS_FILE.write_text(text, encoding="utf-8")
    print(DOCS_FILE)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
