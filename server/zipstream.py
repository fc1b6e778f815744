"""Read a zip's JSON members one at a time without holding its directory in memory.

``zipfile`` builds an object per member when it opens an archive: about 640 bytes each, some
380 MB for the registry's 600,000-member bulk zip, before the first record is read. Here the
central directory is walked twice from disk (once to learn whether its names are already in
order, once to read), so memory stays flat; an archive whose names are out of order is read in
name order from a compact index of (name, entry) pairs.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_STORED, _DEFLATED = 0, 8
_ENCRYPTED = 0x1


class BadArchive(OSError):
    """A zip cannot be read: truncated, corrupt, or in a form this reader does not take."""


@dataclass(frozen=True)
class Member:
    """Where one member's data lies in the archive."""

    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    offset: int  # of the member's local header


def members(path: Path) -> Iterator[Member]:
    """Yield the archive's members in name order (ties keep their order in the archive)."""
    with path.open("rb") as fh:
        start, count = _central_directory(fh)
        in_order, previous = True, ""
        for member in _walk(fh, start, count):
            if member.name < previous:
                in_order = False
                break
            previous = member.name
        if in_order:
            yield from _walk(fh, start, count)
            return
        index = sorted(((m.name, n, m) for n, m in enumerate(_walk(fh, start, count))), key=lambda e: e[:2])
    yield from (member for _name, _n, member in index)


def read_member(fh: BinaryIO, member: Member, where: str) -> bytes:
    """Read and check one member's bytes."""
    if member.flags & _ENCRYPTED or member.method not in (_STORED, _DEFLATED):
        raise BadArchive(f"{where}: encrypted or compressed with method {member.method}, which trialpub cannot read")
    fh.seek(member.offset)
    header = fh.read(_LOCAL.size)
    if len(header) < _LOCAL.size or header[:4] != b"PK\x03\x04":
        raise BadArchive(f"{where}: no local header where the directory says")
    fields = _LOCAL.unpack(header)
    fh.seek(fields[9] + fields[10], 1)  # name and extra field lengths
    data = fh.read(member.compressed_size)
    try:
        raw = zlib.decompress(data, -15) if member.method == _DEFLATED else data
    except zlib.error as exc:
        raise BadArchive(f"{where}: corrupt data: {exc}") from None
    if zlib.crc32(raw) != member.crc:
        raise BadArchive(f"{where}: CRC check failed")
    return raw


def _central_directory(fh: BinaryIO) -> tuple[int, int]:
    """Return the offset and member count of the central directory (ZIP64 included)."""
    fh.seek(0, 2)
    size = fh.tell()
    tail_size = min(size, _EOCD.size + 65535)
    fh.seek(size - tail_size)
    tail = fh.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        raise BadArchive("not a zip archive: no end of central directory")
    _sig, _disk, _cd_disk, _here, count, _cd_size, start, _comment = _EOCD.unpack_from(tail, at)
    locator_at = at - _ZIP64_LOCATOR.size
    if locator_at >= 0 and tail[locator_at : locator_at + 4] == b"PK\x06\x07":
        _sig, _disk, record_offset, _disks = _ZIP64_LOCATOR.unpack_from(tail, locator_at)
        fh.seek(record_offset)
        record = fh.read(_ZIP64_EOCD.size)
        if len(record) < _ZIP64_EOCD.size or record[:4] != b"PK\x06\x06":
            raise BadArchive("not a zip archive: broken ZIP64 end of central directory")
        fields = _ZIP64_EOCD.unpack(record)
        count, start = fields[7], fields[9]
    return start, count


def _walk(fh: BinaryIO, start: int, count: int) -> Iterator[Member]:
    position = start
    for _ in range(count):
        fh.seek(position)
        header = fh.read(_CENTRAL.size)
        if len(header) < _CENTRAL.size or header[:4] != b"PK\x01\x02":
            raise BadArchive("corrupt central directory")
        f = _CENTRAL.unpack(header)
        flags, method, crc, csize, usize = f[3], f[4], f[7], f[8], f[9]
        name_len, extra_len, comment_len, offset = f[10], f[11], f[12], f[16]
        name_bytes = fh.read(name_len)
        extra = fh.read(extra_len)
        # Bit 11: the name is UTF-8; otherwise the zip standard says cp437.
        name = name_bytes.decode("utf-8" if flags & 0x800 else "cp437")
        if 0xFFFFFFFF in (csize, usize, offset):
            csize, offset = _zip64_sizes(extra, usize, csize, offset)
        position += _CENTRAL.size + name_len + extra_len + comment_len
        yield Member(name, method, flags, crc, csize, offset)


def _zip64_sizes(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int]:
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, at)
        if tag == 0x0001:
            values = iter(struct.unpack_from(f"<{length // 8}Q", extra, at + 4))
            if usize == 0xFFFFFFFF:
                next(values)
            if csize == 0xFFFFFFFF:
                csize = next(values)
            if offset == 0xFFFFFFFF:
                offset = next(values)
            return csize, offset
        at += 4 + length
    raise BadArchive("a member's ZIP64 sizes are missing")
