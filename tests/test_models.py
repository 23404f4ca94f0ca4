"""The model headers and the build graph (transforms/models.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_incremental import add_records, loaded, make_world, tag_new_rows

from tkpk.publish.dictionary import TABLES
from transforms.incremental import build_changed, rebuilt_after, rebuilt_before
from transforms.models import (
    SCOPED_DIR,
    SOURCES,
    ModelError,
    Source,
    graph,
    load_graph,
    load_model,
    parse_header,
    read_tables,
)
from transforms.runner import MissingInputError, check_inputs

HEADER = """/* MODEL (
    kind period,
    grain (period, id_keluarga, program),
    cluster_key period,
    partition_role partition,
    settings (disabled_optimizers = 'build_side_probe_side', threads = '2')
) */
-- x: prose
select 1
"""


def write(folder: Path, name: str, header: str, sql: str) -> Path:
    """A model file ``name.sql`` in ``folder``."""
    path = folder / f"{name}.sql"
    path.write_text(f"/* MODEL (\n    {header}\n) */\n-- {name}: test\n{sql}\n")
    return path


def test_header_is_parsed_into_typed_values():
    props, body = parse_header(HEADER, "x.sql")
    assert props == {
        "kind": "period",
        "grain": ("period", "id_keluarga", "program"),
        "cluster_key": "period",
        "partition_role": "partition",
        "settings": {"disabled_optimizers": "build_side_probe_side", "threads": "2"},
    }
    assert body == "-- x: prose\nselect 1\n"


def test_model_of_a_file(tmp_path):
    path = write(tmp_path, "int_x", "kind period, grain (period, area_code),\n"
                 "    partition_role sum", "with final as (select * from src) select * from final")
    model = load_model(path)
    assert (model.name, model.kind, model.partition_role) == ("int_x", "period", "sum")
    assert model.sum_keys == ("period", "area_code")
    assert model.scope == ("period",)  # a period model's rows are replaced by period
    assert model.depends_on == {"src"}
    assert model.body.startswith("-- int_x: test\nwith final")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("kind period, colour blue", "bad.sql: unknown header key 'colour'"),
        ("kind weekly", "bad.sql: kind 'weekly' is not one of"),
        ("grain (a)", "bad.sql: kind None"),
        ("kind period, kind full", "bad.sql: header key 'kind' given twice"),
        ("kind period grain (a)", "bad.sql: expected ','"),
        ("kind full, partition_role everywhere", "bad.sql: partition_role 'everywhere'"),
        ("kind full, grain (a), cluster_key b", "bad.sql: cluster_key 'b' is not a grain column"),
        ("kind full, grain (a), cluster_key a, cluster_sort nobody",
         "bad.sql: cluster_sort 'nobody' is not one of"),
        ("kind full, cluster_sort model", "bad.sql: cluster_sort without a cluster_key"),
        ("kind record_month", "bad.sql: a record_month model needs its scope"),
        ("kind full, household_scope (a)", "bad.sql: household_scope is for snapshot/record"),
        ("kind full, partition_role sum", "bad.sql: a sum model needs its grain"),
        ("kind full, partition_rows 'true'", "bad.sql: partition_rows is for central models"),
        ("kind full, settings (threads)", "bad.sql: header key 'settings' expects pairs"),
    ],
)
def test_bad_headers_fail_naming_the_file(tmp_path, header, message):
    path = write(tmp_path, "bad", header, "select 1")
    with pytest.raises(ModelError, match=message.replace("(", r"\(")):
        load_model(path)


def test_a_file_without_header_fails(tmp_path):
    path = tmp_path / "plain.sql"
    path.write_text("-- plain: no header\nselect 1\n")
    with pytest.raises(ModelError, match="plain.sql: the file does not start with"):
        load_model(path)


def test_tables_read_come_from_duckdbs_parser():
    """CTE names are not tables; subqueries, joins, set operations and EXISTS are; a word
    after FROM inside a string or a comment is not."""
    sql = """
        with a as (select * from t1), b as not materialized (select * from a join t2 using (k))
        select *, 'from t9' as note  -- join t8
        from b
        where k in (select k from t3) and exists (select 1 from t4 where t4.k = b.k)
        union all select * from t5, generate_series(1, 2)
    """
    assert read_tables(sql, "x.sql") == {"t1", "t2", "t3", "t4", "t5"}
    with pytest.raises(ModelError, match="x.sql: DuckDB cannot parse"):
        read_tables("select from where", "x.sql")


def test_a_model_reading_an_unknown_table_fails_with_its_file_name(tmp_path):
    write(tmp_path, "first", "kind full", "select * from src")
    write(tmp_path, "second", "kind full", "select * from first join nowhere using (k)")
    with pytest.raises(ModelError, match="second.sql: reads table.s. nowhere that no model"):
        load_graph(tmp_path, sources={"src": Source("src", "test")}, published=())


def test_a_cycle_fails_naming_the_files(tmp_path):
    write(tmp_path, "a", "kind full", "select * from b")
    write(tmp_path, "b", "kind full", "select * from c")
    write(tmp_path, "c", "kind full", "select * from a")
    with pytest.raises(ModelError, match=r"cycle: (a|b|c)\.sql -> .*\.sql -> .*\.sql"):
        load_graph(tmp_path, sources={}, published=())


def test_the_kinds_and_roles_are_checked_between_models(tmp_path):
    write(tmp_path, "p", "kind period", "select * from src")
    write(tmp_path, "s", "kind snapshot", "select * from p")
    with pytest.raises(ModelError, match="s.sql: a snapshot model reads"):
        load_graph(tmp_path, sources={"src": Source("src", "test")}, published=())
    (tmp_path / "s.sql").unlink()
    write(tmp_path, "c", "kind full, partition_role central", "select * from p")
    with pytest.raises(ModelError, match="c.sql: a central model reads non-central"):
        load_graph(tmp_path, sources={"src": Source("src", "test")}, published=())


def test_acceptance_files_are_models_of_their_own_kind(tmp_path):
    path = write(tmp_path, "accept_rule", "kind acceptance",
                 "insert into quarantine select * from staged")  # not a SELECT: not parsed
    assert load_model(path).kind == "acceptance"
    with pytest.raises(ModelError, match="accept_rule.sql: acceptance SQL belongs in accept/"):
        load_graph(tmp_path, sources={}, published=())


def test_the_sort_is_stable_and_puts_each_model_after_what_it_reads(tmp_path):
    """Unconstrained models keep a fixed order: intermediate before published, published in
    the dictionary's export order; each model comes after every model it reads."""
    write(tmp_path, "pub_b", "kind full", "select * from int_z")
    write(tmp_path, "pub_a", "kind full", "select * from src")
    write(tmp_path, "int_z", "kind period", "select * from int_y")
    write(tmp_path, "int_y", "kind full", "select * from src")
    built = load_graph(tmp_path, sources={"src": Source("src", "t")}, published=("pub_b", "pub_a"))
    assert built.order == ("int_y", "int_z", "pub_b", "pub_a")
    assert built.curated == ("pub_b", "pub_a")


def test_the_marts_graph():
    """Every dependency of the real models is built first; sources are declared once and every
    one is read; the curated tables are the dictionary's, in its export order."""
    order = graph().order
    for position, name in enumerate(order):
        reads = graph()[name].depends_on
        assert reads & set(order) <= set(order[:position]), name
        assert reads - set(order) <= set(SOURCES), name
    assert set(graph().sources_read()) == set(SOURCES)
    assert graph().curated == tuple(t.name for t in TABLES)
    assert all(m.startswith("int_") for m in order if m not in graph().curated)
    assert graph() is graph(), "loaded once per process"
    assert graph()["int_program_monthly"].depends_on == {
        "int_periods", "int_household_snapshot", "int_match_index", "program_records",
        "ingest_file", "ref_area", "ref_program",
    }


def test_the_model_files_are_checked_at_most_every_few_seconds(monkeypatch):
    """graph() is called thousands of times per run: it looks at the files' state (a changed
    file reloads the graph) only when its last look is ``RECHECK_S`` seconds old."""
    import transforms.models as models

    graph()
    looks = []
    state = models._files_state

    def counted(folder):
        looks.append(folder)
        return state(folder)

    monkeypatch.setattr(models, "_files_state", counted)
    first = graph()
    for _ in range(100):
        assert graph() is first
    assert len(looks) <= 1
    monkeypatch.setitem(models._LOADED, "checked", models._LOADED["checked"] - models.RECHECK_S)
    monkeypatch.setitem(models._LOADED, "state", ())  # as if a file had changed
    assert graph() is not first and len(looks) in (1, 2)


def test_incremental_phases_come_from_the_kinds():
    """kind full models reading no period model are rebuilt first, the others after."""
    assert rebuilt_before()[:5] == ("int_area_hierarchy", "int_periods", "int_excluded_months",
                                    "int_period_lines", "int_area_lines")
    assert set(rebuilt_after()) == {"households", "poverty_transitions"}
    scoped = {t for m in graph().of_kind("record_month") for t in graph()[m].scoped_inputs}
    assert scoped == {"program_records", "int_match_index", "int_household_snapshot"}
    assert {p.stem for p in SCOPED_DIR.glob("*.sql")} == {*scoped, "record_scope"}
    household = {m for m in graph().order if graph()[m].household_scope}
    assert household == {"int_household_snapshot", "int_program_monthly", "int_household_program",
                         "int_household_funding", "int_household_status"}


def test_check_inputs_names_the_step_and_creates_optional_sources(con):
    from marts_support import World

    World(con)
    con.execute("drop table if exists source_pull_log")
    check_inputs(con)  # created empty (nothing was ever pulled)
    assert con.execute("select count(*) from source_pull_log").fetchone() == (0,)
    con.execute("drop table ref_official_poverty")
    with pytest.raises(MissingInputError, match=r"ref_official_poverty \(created by tkpk.ref"):
        check_inputs(con)


def test_every_grain_is_unique_and_tables_are_clustered(con):
    """On a built world with data: each model's grain columns identify its rows; a model with
    a cluster_key has each key's rows stored together."""
    from test_incremental import key_runs

    con.execute("set preserve_insertion_order = false")
    w, households = make_world(con)
    add_records(w, households, [f"2031-{m:02d}" for m in range(1, 5)], seed=1)
    w.flush()
    tag_new_rows(w, "base")
    build_changed(con, [loaded("registry", "households"), loaded("base")])
    for name in graph().order:
        grain = ", ".join(graph()[name].grain)
        rows, keys = con.execute(
            f"select count(*), count(distinct ({grain})) from {name}"
        ).fetchone()
        assert rows == keys, f"{name}: grain ({grain}) is not unique"
        key = graph()[name].cluster_key
        if key is not None:
            runs, values = key_runs(con, name, key)
            assert values > 1 and runs == values, f"{name} not clustered by {key}"
