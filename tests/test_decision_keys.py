"""The keys the decisions group rows by before they compare values (transforms/accept/)."""

from __future__ import annotations

import hashlib


def _md5_of(con, vals_sql: str) -> str:
    """md5 of a struct's text as member_key computes it."""
    return con.execute(f"select md5(cast({vals_sql} as varchar))").fetchone()[0]


def _keys(con, nik, ids_as_read, vals_sql: str = "{'nama': 'A'}") -> tuple[str, str]:
    """(member_key, member_candidate_key) of one member."""
    return con.execute(
        f"select member_key(?, ?, {vals_sql}), member_candidate_key(?, ?)",
        [nik, ids_as_read, nik, ids_as_read],
    ).fetchone()


def test_member_candidate_key_by_hand(con):
    digest = _md5_of(con, "{'nama': 'A'}")
    assert digest == hashlib.md5(b"{'nama': A}").hexdigest()
    # a valid NIK: both keys are the NIK
    assert _keys(con, "3375010101800001", None) == ("3375010101800001", "3375010101800001")
    # a flagged NIK (null): the key carries the digits as read and the values' digest, the
    # candidate key only the digits as read
    assert _keys(con, None, "33750101") == (f"~33750101~{digest}", "~33750101")
    assert _keys(con, None, None) == (f"~~{digest}", "~")


def test_equal_member_keys_have_equal_candidate_keys(con):
    """Even a NIK that spells another member's key (never valid, but possible in an error row)
    gets that member's candidate key, so the two rows are compared by their values."""
    digest = _md5_of(con, "{'nama': 'A'}")
    spelled = f"~33750101~{digest}"
    assert _keys(con, spelled, None) == (spelled, "~33750101")
    assert _keys(con, None, "33750101") == (spelled, "~33750101")
    assert _keys(con, "~x", None) == ("~x", "")
