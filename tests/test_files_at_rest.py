"""Personal data at rest (issue 16, item 8): production mode refuses to run when the warehouse,
the key file or the restricted pack is accessible by group/others, naming the path and the chmod
to run; a publish leaves the Bappeda pack as the only world-readable output.

DuckDB's own encryption was measured with the pinned duckdb==2.0.0 and is not usable offline
(writing an encrypted database needs the httpfs extension, which only a download brings):
docs/operations.md, "Personal data at rest", has the measurement and the operating-system route.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import duckdb
import pytest

from tkpk.config import Settings
from tkpk.publish import privacy
from tkpk.publish.privacy import ProductionModeError


@pytest.fixture
def private_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _installation(tmp_path: Path) -> Settings:
    settings = Settings(
        raw_dir=tmp_path / "raw", curated_dir=tmp_path / "curated",
        warehouse=tmp_path / "warehouse.duckdb", temp_dir=tmp_path / "tmp",
        local_key_file=tmp_path / "local.key", mode="production",
    )
    duckdb.connect(str(settings.warehouse)).close()
    settings.local_key_file.write_text("k" * 32)
    pack = tmp_path / "curated" / ".versions" / "v1" / "restricted"
    pack.mkdir(parents=True)
    (pack / "households.parquet").write_bytes(b"PAR1")
    (tmp_path / "curated" / "restricted").symlink_to(Path(".versions/v1/restricted"))
    return settings


def test_production_refuses_accessible_personal_data(tmp_path, private_umask) -> None:
    settings = _installation(tmp_path)
    settings.warehouse.chmod(0o644)
    settings.local_key_file.chmod(0o640)
    pack = (settings.curated_dir / "restricted").resolve()
    (pack / "households.parquet").chmod(0o644)
    problems = privacy.exposed_files(settings)
    assert problems == [
        f"{settings.warehouse} is accessible by group/others: run `chmod 600 "
        f"{settings.warehouse}`",
        f"{settings.local_key_file} is accessible by group/others: run `chmod 600 "
        f"{settings.local_key_file}`",
        f"the restricted pack {pack} is accessible by group/others: run `chmod -R go-rwx "
        f"{pack}`",
    ]
    with pytest.raises(ProductionModeError, match="refuses to run") as refused:
        privacy.check_files_at_rest(settings)
    assert f"chmod 600 {settings.warehouse}" in str(refused.value)
    # the commands it names fix it; then files created are private
    settings.warehouse.chmod(0o600)
    settings.local_key_file.chmod(0o600)
    os.system(f"chmod -R go-rwx {pack}")
    assert privacy.exposed_files(settings) == []
    privacy.check_files_at_rest(settings)
    created = tmp_path / "created"
    created.write_text("x")
    assert stat.S_IMODE(created.stat().st_mode) == 0o600


def test_the_flow_refuses_in_production_only(tmp_path, monkeypatch, private_umask) -> None:
    from flows.nightly import check_files_at_rest

    settings = _installation(tmp_path)
    settings.warehouse.chmod(0o644)
    with pytest.raises(ProductionModeError, match=r"chmod 600"):
        check_files_at_rest.fn(settings)
    from dataclasses import replace

    check_files_at_rest.fn(replace(settings, mode="development"))  # not checked
    assert os.umask(0o022) == 0o022  # development: the umask is left alone


def test_bappeda_is_the_only_world_readable_output(real_packs, tmp_path, private_umask,
                                                   monkeypatch) -> None:
    """A publish under production's umask: the restricted pack and everything else private,
    the Bappeda pack world-readable through its fixed path."""
    from dataclasses import replace

    from tkpk.db import connect
    from tkpk.publish import publish_packs

    monkeypatch.setenv("TKPK_PSEUDONYM_KEY", "real-packs-test-key-0123456789")
    os.umask(0o077)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(real_packs.warehouse, warehouse)
    settings = replace(real_packs, warehouse=warehouse, curated_dir=tmp_path / "curated",
                       temp_dir=tmp_path / "tmp")
    con = connect(settings)
    try:
        result = publish_packs(con, settings, "modes-run", use_gx=False)
    finally:
        con.close()
    privacy.set_pack_modes(settings.curated_dir, result.version_dir)
    bappeda = result.bappeda_dir.resolve()
    world_readable = sorted(
        str(p.relative_to(settings.curated_dir))
        for p in settings.curated_dir.rglob("*")
        if not p.is_symlink() and p.stat().st_mode & stat.S_IROTH
    )
    assert world_readable, "the Bappeda pack is readable"
    assert all((settings.curated_dir / p).resolve().is_relative_to(bappeda)
               for p in world_readable), world_readable
    assert {p.name for p in bappeda.iterdir()} <= {Path(p).name for p in world_readable}
    # others can reach it through the fixed path: every folder above it is traversable
    for folder in [bappeda, *bappeda.parents]:
        if folder == settings.curated_dir.parent:
            break
        assert folder.stat().st_mode & stat.S_IXOTH, folder
    restricted = result.restricted_dir.resolve()
    assert stat.S_IMODE(restricted.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in restricted.rglob("*") if p.is_file()} == {
        0o600
    }
    # its sub-folders (verivali/: the correction lists) are the owner's only too
    assert {stat.S_IMODE(p.stat().st_mode) for p in restricted.rglob("*") if p.is_dir()} <= {
        0o700
    }
    # the published pack passes production's check; the copied warehouse (0644) does not
    warehouse.chmod(0o644)
    assert privacy.exposed_files(replace(settings, local_key_file=tmp_path / "none")) == [
        f"{warehouse} is accessible by group/others: run `chmod 600 {warehouse}`"
    ]
