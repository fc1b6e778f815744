"""Name a write that found the disk full, and where, for an operator to act on."""

from __future__ import annotations

import errno
import re

# ENOSPC: the file system is full; EFBIG: a file hit its size limit; EDQUOT: a quota is spent.
_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_FULL_TEXT = ("No space left on device", "File too large", "Disk quota exceeded")
# Oxigraph (RocksDB) names the file in its message: "...: While appending to file: /path: ...".
_FILE_IN_TEXT = re.compile(r"(?:file|directory):? (/[^:]+)")


def disk_full(exc: OSError) -> str | None:
    """Say "disk full" and where, if this error is a write that found no space; else None."""
    text = str(exc)
    if exc.errno not in _FULL_ERRNOS and not any(marker in text for marker in _FULL_TEXT):
        return None
    path = exc.filename
    if path is None:
        found = _FILE_IN_TEXT.search(text)
        path = found.group(1) if found else None
    where = f" writing {path}" if path else ""
    return f"disk full{where}: free some space and run the command again ({' '.join(text.split())})"
