"""The analyst notebooks run top to bottom against packs published from a generated drop
(``conftest.real_packs``), read-only, outputs stripped."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tkpk.config import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
#: Appended to every executed copy: proves the kernel is this virtualenv's Python.
KERNEL_CHECK = "import sys; print(sys.executable)"


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


async def _execute_all(notebooks: list[nbformat.NotebookNode], cwd: Path) -> list:
    """Run the notebooks concurrently (one kernel each); an exception is returned, not raised."""
    clients = [
        NotebookClient(
            nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
        )  # fmt: skip
        for nb in notebooks
    ]
    return await asyncio.gather(*(c.async_execute() for c in clients), return_exceptions=True)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory, real_packs) -> dict:
    """Every notebook executed against packs published from a generated drop
    (``conftest.real_packs``, copied), found through TKPK_OUT only."""
    root = tmp_path_factory.mktemp("notebooks")
    curated = root / "curated"
    shutil.copytree(real_packs.curated_dir, curated, symlinks=True)
    before = _digest(curated)
    warehouse = root / "warehouse.duckdb"
    patch = pytest.MonkeyPatch()
    patch.setenv("TKPK_OUT", str(curated))
    patch.setenv("TKPK_DB", str(warehouse))
    patch.setenv("TKPK_TEMP", str(root / "tmp"))
    patch.setenv("TKPK_DUCKDB_THREADS", "1")
    try:
        notebooks = [nbformat.read(path, as_version=4) for path in NOTEBOOKS]
        for nb in notebooks:
            nb.cells.append(nbformat.v4.new_code_cell(KERNEL_CHECK))
        work = root / "cwd"  # not the project: a relative path would not find the packs
        work.mkdir()
        results = asyncio.run(_execute_all(notebooks, work))
    finally:
        patch.undo()
    return {
        "notebooks": dict(zip((p.name for p in NOTEBOOKS), notebooks, strict=True)),
        "errors": dict(zip((p.name for p in NOTEBOOKS), results, strict=True)),
        "packs_unchanged": _digest(curated) == before,
        "warehouse_created": warehouse.exists(),
    }


def test_there_are_the_three_notebooks() -> None:
    names = [p.stem for p in NOTEBOOKS]
    for expected in (
        "01_profil_kemiskinan_kelurahan",
        "02_ketepatan_sasaran_program",
        "03_tren_dan_mitra_pendanaan",
        "04_halaman_keputusan",
    ):
        assert expected in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, executed: dict) -> None:
    error = executed["errors"][path.name]
    assert not isinstance(error, BaseException), f"{path.name}: {error}"
    nb = executed["notebooks"][path.name]
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # Every chart cell shows an image; the last cell names the venv's Python.
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    assert outputs[-1].text.strip() == sys.executable
    # Figures are labelled in Bahasa Indonesia from the pack (no warnings leaked to stderr).
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not [text for text in stderr if "Warning" in text], stderr


def test_notebooks_never_touch_the_packs_or_the_warehouse(executed: dict) -> None:
    assert executed["packs_unchanged"]
    assert not executed["warehouse_created"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name
    text = path.read_text(encoding="utf-8")
    # The packs' folder comes from the config (TKPK_OUT), never from a path in the notebook.
    assert "/work/" not in text and "/tmp/" not in text and ".parquet" not in text
