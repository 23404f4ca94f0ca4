"""The raw files' SHA-256 cached by file status (tkpk.ingest.hash_cache): an unchanged file is
not read again, a changed one always is."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from tkpk.ingest import hash_cache
from tkpk.ingest.hash_cache import HashCache


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture()
def settled(monkeypatch):
    """Files count as settled at once (no racy window), so that a test need not wait."""
    monkeypatch.setattr(hash_cache, "RACY_SECONDS", 0.0)


def test_an_unchanged_file_is_not_read_again(tmp_path, settled, monkeypatch):
    path = tmp_path / "salur_pkh_202601.csv"
    path.write_bytes(b"NIK;STATUS\n1;SUKSES\n")
    cache = HashCache(tmp_path / "cache.json")
    assert cache.sha256(path) == digest(b"NIK;STATUS\n1;SUKSES\n")
    cache.save()

    def refuse(*args):
        raise AssertionError("read again")

    monkeypatch.setattr(hash_cache, "sha256_of", refuse)
    again = HashCache(tmp_path / "cache.json")
    assert again.sha256(path) == digest(b"NIK;STATUS\n1;SUKSES\n")


def test_a_rewritten_file_is_read_again_even_with_its_old_mtime(tmp_path, settled):
    path = tmp_path / "salur_pkh_202601.csv"
    path.write_bytes(b"NIK;STATUS\n1;SUKSES\n")
    before = path.stat()
    cache = HashCache(tmp_path / "cache.json")
    cache.sha256(path)
    cache.save()
    time.sleep(0.05)
    path.write_bytes(b"NIK;STATUS\n1;GAGAL!\n")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime set back, not ctime
    assert HashCache(tmp_path / "cache.json").sha256(path) == digest(b"NIK;STATUS\n1;GAGAL!\n")


def test_a_file_written_just_now_is_not_kept(tmp_path):
    path = tmp_path / "salur_pkh_202601.csv"
    path.write_bytes(b"x")
    cache = HashCache(tmp_path / "cache.json")
    cache.sha256(path)
    cache.save()
    assert HashCache(tmp_path / "cache.json").entries == {}


def test_a_damaged_cache_only_means_hashing_again(tmp_path, settled):
    path = tmp_path / "salur_pkh_202601.csv"
    path.write_bytes(b"x")
    (tmp_path / "cache.json").write_text("{not json")
    cache = HashCache(tmp_path / "cache.json")
    assert cache.sha256(path) == digest(b"x")
    cache.save()
    assert list(HashCache(tmp_path / "cache.json").entries) == [str(path.absolute())]


def test_prefetched_hashes_are_used_unless_the_file_changed_since(tmp_path, monkeypatch):
    one, two = tmp_path / "salur_pkh_202601.csv", tmp_path / "salur_pkh_202602.csv"
    one.write_bytes(b"NIK;STATUS\n1;SUKSES\n")
    two.write_bytes(b"NIK;STATUS\n2;SUKSES\n")
    cache = HashCache(tmp_path / "cache.json")
    cache.prefetch([one, two, tmp_path / "hilang.csv"])  # a missing file is left to sha256
    time.sleep(0.05)
    two.write_bytes(b"NIK;STATUS\n2;GAGAL!\n")
    read = []
    real = hash_cache.sha256_of
    monkeypatch.setattr(hash_cache, "sha256_of", lambda path: read.append(path) or real(path))
    assert cache.sha256(one) == digest(b"NIK;STATUS\n1;SUKSES\n")
    assert cache.sha256(two) == digest(b"NIK;STATUS\n2;GAGAL!\n")
    assert read == [two]
    with pytest.raises(OSError):
        cache.sha256(tmp_path / "hilang.csv")


def test_the_prefetch_scans_the_bytes_it_hashes_for_the_reader(tmp_path, monkeypatch):
    """One read of a new file gives its hash and the CSV reader's scan of its bytes; the scan
    is handed out once, and not when the file changed since."""
    from tkpk.config import Limits
    from tkpk.ingest import csv_bytes

    one, two = tmp_path / "salur_pkh_202601.csv", tmp_path / "salur_pkh_202602.csv"
    one.write_bytes(b"NIK;NAMA\n1;Ren\xe9\n\n2;Ani\n")
    two.write_bytes(b"NIK;NAMA\n2;Ren\xc3\xa9\n")
    limits = Limits()
    cache = HashCache(tmp_path / "cache.json")
    cache.prefetch([one, two], lambda: csv_bytes.raw_scan(limits))
    time.sleep(0.05)
    two.write_bytes(b"NIK;NAMA\n2;Rene\n")
    scan = cache.scan_of(one)
    _, _, own = csv_bytes.prepare_text(one, tmp_path, limits)
    assert scan == own
    assert (scan.non_ascii, scan.utf8_multibyte, scan.physical_lines) == (True, False, 4)
    assert cache.scan_of(one) is None  # handed out once
    assert cache.scan_of(two) is None  # changed since
    assert cache.sha256(one) == digest(b"NIK;NAMA\n1;Ren\xe9\n\n2;Ani\n")
