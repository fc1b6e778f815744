import zipfile
from pathlib import Path

import pytest

from server.zipstream import BadArchive, members, read_member


def read_all(path: Path) -> list[tuple[str, bytes]]:
    with path.open("rb") as fh:
        return [(m.name, read_member(fh, m, m.name)) for m in members(path)]


def by_zipfile(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return sorted((info.filename, zf.read(info)) for info in zf.infolist())


def test_reads_what_zipfile_reads_in_name_order(tmp_path: Path):
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w") as zf:
        # Out of order, stored and deflated, a UTF-8 name, an empty member, a folder.
        zf.writestr("NCT00000003.json", b'{"a": 3}' * 500, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("NCT00000001.json", b'{"a": 1}', compress_type=zipfile.ZIP_STORED)
        zf.writestr("versions/", b"")
        zf.writestr("versions/NCT00000002/2025-01-01.json", "{\"é\": 2}".encode(), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("Ünïcode.json", b"", compress_type=zipfile.ZIP_DEFLATED)
    assert read_all(path) == by_zipfile(path)


def test_zip64_archives_with_more_members_than_sixteen_bits_count(tmp_path: Path):
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        for i in range(70_000):
            zf.writestr(f"NCT{i:08d}.json", b"{}")
        with zf.open("big.json", "w", force_zip64=True) as fh:
            fh.write(b"[" + b"1," * 1000 + b"1]")
    got = read_all(path)
    assert len(got) == 70_001 and got == by_zipfile(path)


def test_corruption_is_named(tmp_path: Path):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("NCT00000001.json", b'{"status": "RECRUITING"}', compress_type=zipfile.ZIP_STORED)
    data = path.read_bytes().replace(b"RECRUITING", b"RECRUITINX")
    path.write_bytes(data)
    with pytest.raises(BadArchive, match="CRC"):
        read_all(path)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadArchive, match="end of central directory"):
        read_all(path)
    (tmp_path / "not.zip").write_bytes(b"hello")
    with pytest.raises(BadArchive):
        read_all(tmp_path / "not.zip")


def test_methods_it_cannot_read_are_refused_by_name(tmp_path: Path):
    path = tmp_path / "bz.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("NCT00000001.json", b"{}")
    with pytest.raises(BadArchive, match="method 12"):
        read_all(path)
