"""Locate the files trialpub ships beside its code: ``config/``, ``vocab/`` and the sample."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_path(top: str, *parts: str) -> Path:
    """Return the path of a shipped file, in a source checkout or an installed wheel.

    A checkout keeps ``config/`` and ``vocab/`` at the top level; the wheel carries them
    inside the package, under the same names.
    """
    for base in (_PACKAGE, _PACKAGE.parent):
        candidate = base.joinpath(top, *parts)
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"trialpub resource {'/'.join((top, *parts))} is missing from this installation")
