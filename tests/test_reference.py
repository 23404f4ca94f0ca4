"""The reference tables the project owns: 27 kelurahan, 4 kecamatan, catalog, poverty lines."""

from __future__ import annotations


def test_city_has_27_kelurahan_in_4_kecamatan(con):
    counts = dict(con.execute("select level, count(*) from ref_area group by level").fetchall())
    assert counts == {"kota": 1, "kecamatan": 4, "kelurahan": 27}
    kec = con.execute(
        "select count(distinct kecamatan_code) from ref_area where level = 'kelurahan'"
    ).fetchone()[0]
    assert kec == 4


def test_bps_and_kemendagri_kecamatan_codes_differ_for_utara_and_selatan(con):
    rows = dict(
        con.execute(
            "select name, kecamatan_code_bps from ref_area where level = 'kecamatan'"
        ).fetchall()
    )
    assert rows["Pekalongan Utara"] == "3375040"
    assert rows["Pekalongan Selatan"] == "3375030"


def test_area_key_resolves_prefixes_aliases_and_case(con):
    names = ["Kel. Sapuro Kebulen", "KELURAHAN sapurokebulen", "kebulen", "  podo sugih "]
    codes = [
        con.execute(
            "select code from ref_area_alias where alias_key = area_key(?)", [name]
        ).fetchone()[0]
        for name in names
    ]
    assert codes == ["33.75.01.1004"] * 3 + ["33.75.01.1003"]


def test_program_aliases(con):
    def code(text):
        return con.execute(
            "select code from ref_program_alias where alias_key = program_key(?)", [text]
        ).fetchone()[0]

    assert code("Program Sembako") == "BPNT"
    assert code("pbi-jk") == "PBI_JK"
    assert code("modal_usaha") == "MODAL_USAHA"


def test_poverty_line_in_force(con):
    line = con.execute(
        "select line_idr from ref_poverty_line where effective_from <= date '2026-06-01' "
        "order by effective_from desc limit 1"
    ).fetchone()[0]
    assert int(line) == 570870


def test_province_from_lokal(settings):
    from tkpk.reference import leaf_areas

    leaves = leaf_areas("33")
    assert len(leaves) > 8000
    assert {a.kabkota_code for a in leaves} >= {"33.75", "33.26"}
