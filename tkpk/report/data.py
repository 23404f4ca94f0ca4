"""The figures one briefing pack is drawn from, read from a published pack (never the warehouse)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from tkpk import analysis, reference
from tkpk import formatting as fmt
from tkpk.lines import (
    MAX_LINE_AGE_MONTHS,
    SCOPE_NAMES_ID,
    line_age_months,
    line_is_borrowed,
    line_is_old,
)
from transforms.sql import read_sql

#: How each pack is described in the charts' source line.
PACK_DESCRIPTIONS = {
    "restricted": "paket terbatas TKPK",
    "bappeda": "paket Bappeda (angka 1–4 dan rasio dengan penyebut < 10 disensor)",
}
_NOT_NUMERIC = {
    "period",
    "snapshot",
    "area_level",
    "area_code",
    "area_name",
    "kecamatan_code",
    "program",
    "program_name",
    "funding_source",
    "poverty_line_status",
    "poverty_line_effective_from",
    "poverty_line_scope",
    "profile_group",
    "snapshot_from",
    "snapshot_to",
}


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as float64 with NaN for missing (suppressed) values, ready to plot;
    periods and snapshots as ``datetime.date`` (first of the month)."""
    out = frame.copy()
    for column in ("period", "snapshot"):  # dates as datetime.date, like the periods list
        if column in out.columns:
            out[column] = [None if fmt.is_missing(v) else fmt.parse_period(v) for v in out[column]]
    for column in out.columns:  # text, dates and flags of newer columns are left as they are
        if column not in _NOT_NUMERIC and pd.api.types.is_numeric_dtype(out[column]):
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    return out


@dataclass(frozen=True)
class ReportData:
    """Everything the charts of one period need, already filtered and typed."""

    pack_name: str
    pack_folder: Path
    period: date
    periods: tuple[date, ...]
    poverty: pd.DataFrame
    poverty_trend: pd.DataFrame
    reach: pd.DataFrame
    reach_trend: pd.DataFrame
    overlap: pd.DataFrame
    funding: pd.DataFrame
    funding_trend: pd.DataFrame
    quality: dict
    areas: pd.DataFrame
    official: dict | None
    boundaries: Path | None = None
    #: The period's ``data_coverage`` rows when the pack has that table (else None).
    coverage: pd.DataFrame | None = None
    #: Decision pages (None when the pack predates them): the period's poverty_profile rows
    #: and every poverty_transitions row.
    profile: pd.DataFrame | None = None
    transitions: pd.DataFrame | None = None

    # -- areas ---------------------------------------------------------------------------------
    @property
    def city(self) -> pd.Series:
        """The city (kota) row of the poverty table."""
        rows = self.poverty[self.poverty["area_level"] == "kota"]
        if rows.empty:
            raise ValueError(f"no city row in kelurahan_poverty for {fmt.period_key(self.period)}")
        return rows.iloc[0]

    @property
    def city_name(self) -> str:
        """The city's name as the pack spells it."""
        return str(self.city["area_name"])

    @property
    def kecamatan(self) -> pd.DataFrame:
        """Kecamatan rows of the poverty table, in code order."""
        return self.poverty[self.poverty["area_level"] == "kecamatan"].sort_values("area_code")

    @property
    def kelurahan(self) -> pd.DataFrame:
        """Kelurahan rows of the poverty table, in code order."""
        return self.poverty[self.poverty["area_level"] == "kelurahan"].sort_values("area_code")

    @property
    def kecamatan_names(self) -> dict[str, str]:
        """Kecamatan code -> name (from the pack, else from the reference table)."""
        names = dict(zip(self.areas["code"], self.areas["name"], strict=True))  # fallback
        names.update(zip(self.kecamatan["area_code"], self.kecamatan["area_name"], strict=True))
        return names

    @property
    def programs(self) -> pd.DataFrame:
        """Programs of the city rows (code, name), most recipients first."""
        city = self.reach[self.reach["area_level"] == "kota"]
        order = city.sort_values(["recipient_households", "program"], ascending=[False, True])
        return order[["program", "program_name"]].drop_duplicates("program")

    # -- captions ------------------------------------------------------------------------------
    @property
    def period_label(self) -> str:
        """``Juni 2026``."""
        return fmt.format_period(self.period)

    @property
    def window_label(self) -> str:
        """The programs' twelve-month reach window: ``Juli 2025 – Juni 2026``."""
        return fmt.format_reach_window(self.period)

    @property
    def snapshot_label(self) -> str:
        """The registry snapshot month the period's figures use."""
        return fmt.format_period(self.city["snapshot"])

    @property
    def poverty_line_label(self) -> str:
        """``Rp 570.870/kapita/bulan (sementara)``."""
        status = str(self.city.get("poverty_line_status") or "")
        note = {"provisional": " (sementara)", "official": ""}.get(status, f" ({status})")
        return f"{fmt.format_rupiah(self.city['poverty_line_idr'])}/kapita/bulan{note}"

    @property
    def poverty_line_warnings(self) -> list[str]:
        """Bahasa Indonesia warnings when the city's line is older than MAX_LINE_AGE_MONTHS or
        borrowed from the province or the nation (empty for a pack without those columns)."""
        since = self.city.get("poverty_line_effective_from")
        since = None if fmt.is_missing(since) else fmt.parse_period(since)
        scope = self.city.get("poverty_line_scope")
        warnings = []
        if line_is_borrowed(scope):
            warnings.append(
                f"Peringatan: garis kemiskinan {self.poverty_line_label} adalah garis "
                f"{SCOPE_NAMES_ID[scope]}, bukan garis {self.city_name} sendiri; semua angka "
                "kemiskinan memakai garis pinjaman ini."
            )
        if since is not None and line_is_old(self.period, since):
            warnings.append(
                f"Peringatan: garis kemiskinan berlaku sejak {fmt.format_period(since)}, "
                f"{line_age_months(self.period, since)} bulan sebelum periode laporan (lebih "
                f"dari {MAX_LINE_AGE_MONTHS} bulan); garis BPS yang lebih baru dapat dipasang "
                "lewat folder referensi (TKPK_REFERENCE_DIR) tanpa rilis baru."
            )
        return warnings

    def source(self, *tables: str, registry: bool = True) -> str:
        """The footer of a chart: source tables, pack, snapshot and the registry-based note."""
        parts = [
            f"Sumber: {PACK_DESCRIPTIONS.get(self.pack_name, self.pack_name)}, "
            f"tabel {', '.join(tables)}; data registrasi snapshot {self.snapshot_label}; "
            f"garis kemiskinan {self.poverty_line_label}."
        ]
        if registry:
            parts.append(
                "Angka berbasis data registrasi, bukan angka resmi BPS (Susenas). "
                "Titik memisahkan ribuan, koma memisahkan desimal (1.234 jiwa; 6,7%)."
            )
        return "\n".join(parts)


def _quality_summary(pack: analysis.Pack) -> dict:
    """Rows read, accepted, quarantined and duplicated over every file the runs processed."""
    if not pack.has("data_quality"):
        return {}
    row = pack.con.execute(read_sql("analysis/report_quality_summary")).fetchone()
    keys = ("files", "files_quarantined", "rows_read", "accepted", "quarantined", "duplicate")
    return dict(zip(keys, row, strict=True))


def _optional_table(pack: analysis.Pack, name: str, period: date) -> pd.DataFrame | None:
    """The period's rows of a table newer packs carry (None when absent or without a period)."""
    if not pack.has(name) or "period" not in pack.columns(name):
        return None
    return _numeric(pack.table(name, period=period))


def load_report_data(
    pack: analysis.Pack,
    period: date | str | None = None,
    region: str = reference.CITY_REGION,
    boundaries: Path | None = None,
) -> ReportData:
    """Read the figures of ``period`` (default: the latest) and the trend up to it."""
    chosen = analysis.resolve_period(pack, period)

    def table(name: str, **filters: object) -> pd.DataFrame:
        if not pack.has(name):
            raise analysis.PackNotFoundError(f"table {name}.parquet is missing in {pack.folder}")
        return _numeric(pack.table(name, **filters))

    poverty = table("kelurahan_poverty", period=chosen)
    return ReportData(
        pack_name=pack.name,
        pack_folder=pack.folder,
        period=chosen,
        periods=tuple(p for p in analysis.periods(pack) if p <= chosen),
        poverty=poverty,
        poverty_trend=table("kelurahan_poverty", until=chosen),
        reach=table("program_reach", period=chosen),
        reach_trend=table("program_reach", until=chosen, level="kota"),
        overlap=table("program_overlap", period=chosen),
        funding=table("funding_sources", period=chosen),
        funding_trend=table("funding_sources", until=chosen, level="kota"),
        quality=_quality_summary(pack),
        areas=reference.load_areas(region),
        official=analysis.official_rate(poverty),
        boundaries=boundaries,
        coverage=_optional_table(pack, "data_coverage", chosen),
        profile=table("poverty_profile", period=chosen) if pack.has("poverty_profile") else None,
        transitions=_numeric(pack.sql(read_sql("analysis/pack_transitions")))
        if pack.has("poverty_transitions") else None,
    )
