"""Issue 14: the redesigned ingest and model graph publish the same packs as the build before it.

The baseline (``tests/data/outputs_100k_baseline.json``) holds the content digests of every pack
table published by commit ``f5218ef`` from the 100,000-household synthetic sample (``tkpk synth
--households 100000``, default seed, months and messiness) with a fixed synthetic pseudonym key.
This test generates the same sample, runs the nightly job (``tkpk run``) on it and compares: the
same tables, the baseline's columns with the same types in the same order (new columns are
allowed), the same number of rows, the same values in the same row order (run ids left out).
Regenerate the baseline only for a deliberate change of the published figures:
``python tests/output_digest.py <curated>/current``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from output_digest import pack_digests

pytestmark = pytest.mark.slow

BASELINE = Path(__file__).parent / "data" / "outputs_100k_baseline.json"
#: The synthetic pseudonym key of the baseline run (synthetic people only; not a secret).
BASELINE_KEY = "baseline-synthetic-key-0123456789abcdef"


def _tkpk(args: list[str], env: dict[str, str]) -> None:
    """Run the tkpk command line in a fresh process; fail with its output when it fails."""
    done = subprocess.run([sys.executable, "-m", "tkpk.cli", *args], env=env,
                          capture_output=True, text=True)
    output = f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert done.returncode == 0, f"tkpk {args[0]} failed:\n{output}"


def test_packs_identical_to_the_baseline_on_the_100k_sample(tmp_path: Path) -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    env = {**os.environ, "TKPK_PSEUDONYM_KEY": BASELINE_KEY, "TKPK_TEMP": str(tmp_path / "tmp"),
           "TKPK_SOURCES": str(tmp_path / "no-sources.toml"),
           "TKPK_LOCAL_KEY_FILE": str(tmp_path / "local.key"),
           "TKPK_ACCESS_LOG": str(tmp_path / "access.log")}
    raw, curated = tmp_path / "raw", tmp_path / "curated"
    _tkpk(["synth", "--households", str(baseline["households"]), "--out", str(raw),
           "--side", str(tmp_path / "side")], env)
    _tkpk(["run", "--raw", str(raw), "--out", str(curated),
           "--db", str(tmp_path / "warehouse.duckdb")], env)

    expected = baseline["tables"]
    actual = pack_digests(curated / "current", baseline=expected)
    assert sorted(actual) == sorted(expected), "the packs hold other tables than the baseline"
    problems = []
    for key, want in expected.items():
        got = actual[key]
        types = dict(map(tuple, got["columns"]))
        lost = [name for name, type_ in want["columns"] if types.get(name) != type_]
        order = [name for name in types if name in dict(map(tuple, want["columns"]))]
        if lost:
            problems.append(f"{key}: columns missing or retyped: {lost}")
        elif order != [name for name, _ in want["columns"]]:
            problems.append(f"{key}: the baseline's columns are in another order")
        elif got["rows"] != want["rows"]:
            problems.append(f"{key}: {got['rows']} rows, baseline {want['rows']}")
        elif got["digest"] != want["digest"]:
            problems.append(f"{key}: values or row order differ from the baseline")
    assert not problems, "\n".join(problems)
