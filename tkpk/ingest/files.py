"""Raw-file discovery: which files are in the raw folder, their content hash, and what their
names say (kind, period, program, channel, stage).

Files are taken in name order; hidden files (``.gitkeep``, editor droppings starting with a dot)
and anything that is not a regular file are ignored. The content hash (SHA-256) identifies a file:
the same bytes under another name are the same file.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from tkpk.ingest.schema import kind_of

#: Bytes read per step while hashing (bounded memory for any file size).
HASH_CHUNK_BYTES = 4 * 1024 * 1024

_TOKEN_SPLIT = re.compile(r"[\s_.\-]+")
_STAGE = re.compile(r"tahap[\s_\-]*(\d{1,2})(?!\d)")

#: Kinds whose file name must carry a month (``YYYYMM``); the others accept ``YYYY`` too.
MONTHLY_KINDS = ("households", "members", "pbi")


@dataclass(frozen=True)
class RawFile:
    """A file found in the raw folder."""

    path: Path
    name: str
    size: int


@dataclass(frozen=True)
class FileName:
    """What a raw file's name says, per the input contract.

    ``program_tokens`` are the name's words that may name the program (longest candidate first);
    they are resolved against the catalog by :func:`resolve_program`.
    """

    kind: str | None
    period: date | None
    period_end: date | None
    stage: int | None
    program_candidates: tuple[tuple[str, str | None], ...]
    problem: str | None = None


def discover(raw_dir: Path) -> list[RawFile]:
    """The regular, non-hidden files directly in ``raw_dir``, in name order.

    A missing folder has no files. Symbolic links are followed but only regular files count
    (a link to a device or a folder is ignored).
    """
    if not raw_dir.is_dir():
        return []
    found = []
    for entry in raw_dir.iterdir():
        if entry.name.startswith("."):
            continue
        try:
            if not entry.is_file():
                continue
            size = entry.stat().st_size
        except OSError:
            continue
        found.append(RawFile(path=entry, name=entry.name, size=size))
    return sorted(found, key=lambda f: f.name)


def sha256_of(path: Path, chunk_bytes: int = HASH_CHUNK_BYTES) -> str:
    """Hex SHA-256 of a file, streamed in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def _tokens(file_name: str) -> list[str]:
    """Lower-case words of a file name without its extension."""
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    return [t for t in _TOKEN_SPLIT.split(stem.lower()) if t]


def _month_token(token: str) -> date | None:
    """``YYYYMM`` -> first day of that month, or None."""
    if len(token) == 6 and token.isdigit():
        year, month = int(token[:4]), int(token[4:])
        if 1900 <= year <= 2100 and 1 <= month <= 12:
            return date(year, month, 1)
    return None


def _year_token(token: str) -> int | None:
    """``YYYY`` -> the year, or None (``3375``, a region code, is not a year)."""
    if len(token) == 4 and token.isdigit() and 1900 <= int(token) <= 2100:
        return int(token)
    return None


def parse_file_name(file_name: str) -> FileName:
    """Kind, period, stage and program candidates from a raw file name.

    - kind: the contract's prefix (``dtsen_keluarga_``, ``salur_`` ...), case-insensitive;
    - period: the first ``YYYYMM`` word (a month), else the first ``YYYY`` word (a year:
      January to December); registry snapshots and PBI-JK lists need the month;
    - stage: ``tahapN``;
    - program candidates: ``salur_<program>_<channel>_...`` (the program may be several words,
      the channel is what follows it), ``pbi_jk_...``, ``bantuan_<program>_<YYYY>...``.

    ``problem`` says why the name does not follow the contract (the file is then quarantined as
    ``file_kind_unknown``).
    """
    kind = kind_of(file_name)
    if kind is None:
        return FileName(None, None, None, None, (), "the name does not start with a known prefix")
    words = _tokens(file_name)
    period = period_end = None
    period_index = None
    for index, word in enumerate(words):
        month = _month_token(word)
        if month is not None:
            period = month
            period_end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
            period_index = index
            break
    if period is None and kind not in MONTHLY_KINDS:
        for index, word in enumerate(words):
            year = _year_token(word)
            if year is not None:
                period, period_end, period_index = date(year, 1, 1), date(year, 12, 31), index
                break
    if period is None:
        wanted = "YYYYMM" if kind in MONTHLY_KINDS else "YYYYMM or YYYY"
        return FileName(kind, None, None, None, (), f"the name carries no period ({wanted})")
    stage_match = _STAGE.search(file_name.lower())
    stage = int(stage_match.group(1)) if stage_match else None
    return FileName(
        kind=kind,
        period=period,
        period_end=period_end,
        stage=stage,
        program_candidates=_program_candidates(kind, words[:period_index]),
    )


def _program_candidates(kind: str, words: list[str]) -> tuple[tuple[str, str | None], ...]:
    """(program text, channel) candidates, longest program first, from the words before the
    period. ``salur``: the words after the program are the channel; ``pbi``: the prefix is part
    of the program's name (``pbi_jk``); ``bantuan``: the words after the prefix."""
    if kind == "disbursements":
        body = words[1:]
        candidates = [
            ("_".join(body[:k]), "_".join(body[k:]) or None) for k in range(len(body), 0, -1)
        ]
        return tuple(candidates)
    if kind == "pbi":
        return tuple(("_".join(words[:k]), None) for k in range(len(words), 0, -1)) + (
            ("pbi_jk", None),
        )
    if kind == "local":
        body = words[1:]
        return tuple(("_".join(body[:k]), None) for k in range(len(body), 0, -1))
    return ()


def resolve_program(
    con: duckdb.DuckDBPyConnection, parsed: FileName
) -> tuple[str | None, str | None]:
    """(program code, channel) from the name, through ``ref_program_alias`` (``program_key``).

    The first candidate whose text resolves wins; when none does, the program is None and a
    disbursement file's channel is its last word before the period (``salur_xyz_bri_...``).
    """
    if not parsed.program_candidates:
        return None, None
    texts = [text for text, _ in parsed.program_candidates]
    rows = con.execute(
        """
        select c.ordinal, a.code
        from (select unnest(?) as text, generate_subscripts(?, 1) as ordinal) as c
        join ref_program_alias as a on a.alias_key = program_key(c.text)
        order by c.ordinal
        limit 1
        """,
        [texts, texts],
    ).fetchall()
    if rows:
        ordinal, code = rows[0]
        return code, parsed.program_candidates[ordinal - 1][1]
    if parsed.kind == "disbursements" and len(parsed.program_candidates) > 1:
        # The longest candidate is "program_channel"; its last word is the channel.
        longest = parsed.program_candidates[0][0]
        return None, longest.rsplit("_", 1)[-1]
    return None, None
