"""The one place where paths and settings come from.

Every path the pipeline uses is derived here, from (in order of precedence) explicit CLI options,
environment variables (``TKPK_*``) and the project layout. Nothing in flows, transforms or SQL
builds a path from a literal or from the current working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The project checkout (editable install) or TKPK_HOME: holds data/, expectations/, notebooks/.
PROJECT_ROOT = Path(os.environ.get("TKPK_HOME", PACKAGE_DIR.parent)).resolve()
REFERENCE_DIR = PACKAGE_DIR / "reference"
TRANSFORMS_DIR = PACKAGE_DIR.parent / "transforms"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
#: Developer docs of the checkout (``docs/data-dictionary.md`` is generated into it).
DOCS_DIR = PACKAGE_DIR.parent / "docs"

#: Environment variable holding the HMAC key for pseudonyms (never stored in the repository).
PSEUDONYM_KEY_ENV = "TKPK_PSEUDONYM_KEY"
#: Environment variable naming the reference-override folder (``Settings.reference_dir``).
REFERENCE_DIR_ENV = "TKPK_REFERENCE_DIR"
#: Default region: Kota Pekalongan (Kemendagri code).
DEFAULT_REGION = "33.75"
#: Default nightly schedule of ``tkpk serve``: 02:00 in Kota Pekalongan (WIB).
DEFAULT_SCHEDULE_CRON = "0 2 * * *"
DEFAULT_SCHEDULE_TIMEZONE = "Asia/Jakarta"
#: Kota Pekalongan's size, used as the synthetic sample's default.
DEFAULT_HOUSEHOLDS = 90_000



def _env_path(name: str, default: Path) -> Path:
    """A path from environment variable ``name`` or ``default``."""
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def _env_int(name: str, default: int) -> int:
    """A positive integer from environment variable ``name`` or ``default``."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    number = int(value)
    if number <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return number


def _env_count(name: str, default: int) -> int:
    """A non-negative integer from environment variable ``name`` or ``default``."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    number = int(value)
    if number < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return number


def _optional_env_path(name: str) -> Path | None:
    """A path from environment variable ``name``, or ``None`` when it is unset."""
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else None


@dataclass(frozen=True)
class Limits:
    """Resource limits for hostile input (each a config setting with a safe default).

    Read from the environment when the settings are built (``TKPK_MAX_*``), so a service picks up
    a changed limit at its next run.
    """

    max_file_bytes: int = field(
        default_factory=lambda: _env_int("TKPK_MAX_FILE_BYTES", 2 * 1024**3)
    )
    max_xlsx_cells: int = field(default_factory=lambda: _env_int("TKPK_MAX_XLSX_CELLS", 50_000_000))
    max_xlsx_uncompressed_bytes: int = field(
        default_factory=lambda: _env_int("TKPK_MAX_XLSX_UNCOMPRESSED_BYTES", 2 * 1024**3)
    )
    max_line_bytes: int = field(
        default_factory=lambda: _env_int("TKPK_MAX_LINE_BYTES", 1024 * 1024)
    )


@dataclass(frozen=True)
class Settings:
    """Paths and engine settings of one pipeline run."""

    raw_dir: Path = field(
        default_factory=lambda: _env_path("TKPK_RAW", PROJECT_ROOT / "data" / "raw")
    )
    curated_dir: Path = field(
        default_factory=lambda: _env_path("TKPK_OUT", PROJECT_ROOT / "data" / "curated")
    )
    warehouse: Path = field(
        default_factory=lambda: _env_path("TKPK_DB", PROJECT_ROOT / "data" / "warehouse.duckdb")
    )
    #: Side files of the synthetic generator (defect log); never inside the raw folder.
    synth_dir: Path = field(
        default_factory=lambda: _env_path("TKPK_SYNTH", PROJECT_ROOT / "data" / "synth")
    )
    #: Spill folder for DuckDB and scratch space for pack staging.
    temp_dir: Path = field(
        default_factory=lambda: _env_path("TKPK_TEMP", PROJECT_ROOT / "data" / "tmp")
    )
    region: str = os.environ.get("TKPK_REGION", DEFAULT_REGION)
    #: DuckDB's memory limit: 3GB keeps DuckDB plus the Python process under a 4 GB peak.
    duckdb_memory_limit: str = os.environ.get("TKPK_DUCKDB_MEMORY", "3GB")
    duckdb_threads: int = int(os.environ.get("TKPK_DUCKDB_THREADS", os.cpu_count() or 2))
    #: Rows per table Great Expectations validates (failing rows first, then a hash sample; the
    #: verdict itself comes from the suites compiled to SQL over every row); 0: GX sees every row.
    gx_sample_rows: int = field(
        default_factory=lambda: max(0, int(os.environ.get("TKPK_GX_SAMPLE_ROWS") or 20_000))
    )
    #: Rows of one kind written per committed step of the nightly run (``tkpk.ledger``: a kind
    #: over it is committed in several steps, so no transaction holds a whole province); 0: one
    #: step per kind.
    commit_rows: int = field(default_factory=lambda: _env_count("TKPK_COMMIT_ROWS", 10_000_000))
    #: Publish steps run at once beside the main one (``tkpk.publish.packs``: the personal-value
    #: index, the restricted pack's validation, the correction lists, the Bappeda pack); 0: one
    #: after the other (the least memory at once: they share DuckDB's one memory limit).
    publish_lanes: int = field(default_factory=lambda: _env_count("TKPK_PUBLISH_LANES", 4))
    #: "production" refuses to run without TKPK_PSEUDONYM_KEY; "development" creates a local key.
    mode: str = field(default_factory=lambda: os.environ.get("TKPK_MODE", "development"))
    #: How ``tkpk run`` runs the nightly flow (``flows.nightly.ORCHESTRATIONS``): ``auto`` under
    #: Prefect when ``PREFECT_API_URL`` is set, else in the process without Prefect's temporary
    #: API server; ``prefect``; ``plain``.
    orchestration: str = field(
        default_factory=lambda: os.environ.get("TKPK_ORCHESTRATION", "auto")
    )
    local_key_file: Path = field(
        default_factory=lambda: _env_path(
            "TKPK_LOCAL_KEY_FILE", Path.home() / ".config" / "tkpk" / "pseudonym.key"
        )
    )
    limits: Limits = field(default_factory=Limits)
    #: Append-only access log of ``tkpk field-list`` (who re-identified which households, why).
    access_log: Path = field(
        default_factory=lambda: _env_path(
            "TKPK_ACCESS_LOG", PROJECT_ROOT / "data" / "access" / "field_list_access.log"
        )
    )
    #: ``tkpk serve``: cron expression and time zone of the nightly schedule.
    schedule_cron: str = field(
        default_factory=lambda: os.environ.get("TKPK_SCHEDULE_CRON", DEFAULT_SCHEDULE_CRON)
    )
    schedule_timezone: str = field(
        default_factory=lambda: os.environ.get("TKPK_SCHEDULE_TIMEZONE", DEFAULT_SCHEDULE_TIMEZONE)
    )
    #: Optional kelurahan boundary GeoJSON: ``tkpk report`` then draws a real choropleth.
    boundaries_geojson: Path | None = field(
        default_factory=lambda: _optional_env_path("TKPK_BOUNDARIES")
    )
    #: Optional reference-override folder: a newer ``poverty_lines.csv`` (or ``programs.csv``,
    #: any table of ``tkpk.reference.REFERENCE_TABLES``) dropped there by the operator replaces
    #: the packaged rows of the same key and adds new keys, without a release.
    reference_dir: Path | None = field(
        default_factory=lambda: _optional_env_path(REFERENCE_DIR_ENV)
    )
    #: ``tkpk pull`` and the nightly flow's pull step: the sources file (absent: no source).
    sources_file: Path = field(
        default_factory=lambda: _env_path("TKPK_SOURCES", PROJECT_ROOT / "sources.toml")
    )
    #: Pull: retries of a source after an I/O failure, first delay (doubled each retry) and the
    #: connect/read timeout given to the remote file systems, in seconds.
    pull_retries: int = field(default_factory=lambda: _env_count("TKPK_PULL_RETRIES", 3))
    pull_retry_delay: float = field(
        default_factory=lambda: float(os.environ.get("TKPK_PULL_RETRY_DELAY") or 30)
    )
    pull_timeout: float = field(
        default_factory=lambda: float(os.environ.get("TKPK_PULL_TIMEOUT") or 60)
    )

    def with_paths(
        self,
        raw: Path | None = None,
        out: Path | None = None,
        db: Path | None = None,
    ) -> Settings:
        """A copy with the given CLI path options applied (``None`` keeps the current value)."""
        changes = {}
        if raw is not None:
            changes["raw_dir"] = Path(raw).expanduser().resolve()
        if out is not None:
            changes["curated_dir"] = Path(out).expanduser().resolve()
        if db is not None:
            changes["warehouse"] = Path(db).expanduser().resolve()
        return replace(self, **changes)

    @property
    def restricted_dir(self) -> Path:
        """The task force's restricted pack."""
        return self.curated_dir / "restricted"

    @property
    def bappeda_dir(self) -> Path:
        """The planning office's suppressed pack."""
        return self.curated_dir / "bappeda"

    @property
    def report_dir(self) -> Path:
        """The briefing pack written by ``tkpk report``."""
        return self.curated_dir / "report"

    @property
    def scratch_dir(self) -> Path:
        """Per-run scratch folders (``<scratch_dir>/<run_id>``) for large intermediate results
        kept out of the run's transaction (the ingest's staged rows and decisions)."""
        return self.temp_dir / "scratch"

    @property
    def raw_hash_cache(self) -> Path:
        """The raw files' SHA-256 cached by file status (``tkpk.ingest.hash_cache``)."""
        return self.temp_dir / "raw_hashes.json"

    @property
    def suite_page_cache(self) -> Path:
        """GX's pages of the suites kept between runs (``tkpk.validation.build_data_docs``'s
        ``suite_pages``): a one-file night renders only its validations' pages."""
        return self.temp_dir / "suite_pages"

    @property
    def pull_temp_dir(self) -> Path:
        """Downloads in progress of ``tkpk pull`` (outside the raw folder; emptied by each pull).
        On the raw folder's file system, a verified download is renamed into it atomically."""
        return self.temp_dir / "pull"

    @property
    def field_lists_dir(self) -> Path:
        """Verification sheets of ``tkpk field-list`` (named households: outside both packs)."""
        return self.curated_dir / "field_lists"

    @property
    def simulations_dir(self) -> Path:
        """Results of ``tkpk simulate`` (``<simulations_dir>/<scenario file stem>/``)."""
        return self.curated_dir / "simulations"

    @property
    def data_docs_dir(self) -> Path:
        """Great Expectations Data Docs published next to the packs."""
        return self.curated_dir / "data_docs"


def get_settings() -> Settings:
    """Settings from the environment and the project layout."""
    return Settings()
