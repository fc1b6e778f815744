"""Hostile input for property tests: odd text, and real records mutated field by field."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from .conftest import STUDIES

Path_ = tuple[str | int, ...]


def examples(count: int) -> int:
    """Scale a test's example count by the loaded profile (100 examples is the default profile's)."""
    return max(1, count * settings.default.max_examples // 100)

# Characters that break things: NUL and other controls, bidi overrides, joiners, BOM,
# line separators, non-characters, combining marks, emoji, digits of other scripts.
ODD = [
    "\x00", "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u00a0", "\u200b", "\u200d",
    "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2067", "\u2069", "\u2028", "\u2029",
    "\ufeff", "\ufffe", "\uffff", "\ufffd", "\u0301", "\u0345", "😀", "👩\u200d👩\u200d👧", "🇫🇷",
    "\U0010ffff", "١", "٢", "𝟘", "Ⅻ", "ß", "İ", "ﬃ", "\t", "\n", "\r", "\r\n", "<", ">", "&", '"', "'",
    "]]>", "</script>", "{{", "%s", "\\", "*", "-", "•", "1.", "a)", "Inclusion Criteria:", "Exclusion Criteria:",
]


def odd_text(max_size: int = 60, surrogates: bool = False) -> st.SearchStrategy[str]:
    """Text mixing ordinary characters with the odd ones above (lone surrogates if asked)."""
    blocks = ["Lu", "Ll", "Nd", "Zs", "Po", "Cc", "Mn", "So"] + (["Cs"] if surrogates else [])
    pieces = st.one_of(
        st.sampled_from(ODD),
        st.text(st.characters(categories=blocks), max_size=8),  # type: ignore[arg-type]
        st.text(max_size=8),
    )
    return st.lists(pieces, max_size=max_size // 4).map("".join)


def huge_text() -> st.SearchStrategy[str]:
    """A long string: one odd piece repeated up to a few hundred thousand characters."""
    return st.builds(lambda piece, n: piece * n, st.sampled_from(["x", "é", "😀", "\x00", "ab\n"]),
                     st.integers(10_000, 300_000))


def hostile_value(surrogates: bool = False) -> st.SearchStrategy[Any]:
    """A JSON value of any type, shape and content."""
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
        odd_text(surrogates=surrogates), st.sampled_from(["", " ", "NCT00000000", "2025-02-30", "9999-99", "0000"]),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text(12), inner, max_size=3),
        max_leaves=6,
    )


def real_records(count: int = 12) -> list[dict[str, Any]]:
    """A spread of real records: small and large, with and without results."""
    paths = sorted(STUDIES.glob("*.json"))
    step = max(1, len(paths) // count)
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths[::step][:count]]


def node_paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Yield the path of every value inside a JSON value (not the value itself)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        path = (*prefix, key)
        yield path
        yield from node_paths(child, path)


def get(value: Any, path: Path_) -> Any:
    for key in path:
        value = value[key]
    return value


MUTATIONS = ("drop", "replace", "wrap_list", "wrap_object", "to_list", "huge", "odd")


@st.composite
def mutated(draw: st.DrawFn, record: dict[str, Any], surrogates: bool = False, max_changes: int = 3
            ) -> tuple[dict[str, Any], list[Path_]]:
    """Return a copy of a record with one to a few fields mutated, and the paths mutated."""
    record = copy.deepcopy(record)
    changed: list[Path_] = []
    for _ in range(draw(st.integers(1, max_changes))):
        paths = list(node_paths(record))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key, old = get(record, path[:-1]), path[-1], get(record, path)
        how = draw(st.sampled_from(MUTATIONS))
        if how == "drop":
            del parent[key]
            changed.append(path[:-1])
            continue
        if how == "replace":
            new: Any = draw(hostile_value(surrogates))
        elif how == "wrap_list":
            new = [old]
        elif how == "wrap_object":
            new = {"value": old}
        elif how == "to_list":
            new = list(old.values()) if isinstance(old, dict) else [str(old)]
        elif how == "huge":
            new = draw(huge_text())
        else:
            new = f"{old}{draw(odd_text(surrogates=surrogates))}" if isinstance(old, str) else draw(odd_text())
        parent[key] = new
        changed.append(path)
    return record, changed


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_path(field: str) -> Path_:
    """Read an error's field, ``a.b[0].c``, back into a path."""
    return tuple(int(index) if index else name for name, index in _STEP.findall(field))


def related(field: str, changed: list[Path_]) -> bool:
    """Say whether an error's field lies on the way to, or inside, a changed path."""
    if field in {"(top level)", "(whole record)"}:
        return True
    path = field_path(field)
    return any(path[: len(c)] == c or c[: len(path)] == path for c in changed)


def big_record(record: dict[str, Any], size: int = 3_600_000) -> dict[str, Any]:
    """Grow a real record to about ``size`` bytes of JSON with more sites and a longer description."""
    record = copy.deepcopy(record)
    protocol = record["protocolSection"]
    sites = protocol.setdefault("contactsLocationsModule", {}).setdefault("locations", [])
    template = sites[0] if sites else {"facility": "Hôpital Saint-Louis", "city": "Paris", "country": "France",
                                       "geoPoint": {"lat": 48.87, "lon": 2.37}}
    description = protocol.setdefault("descriptionModule", {})
    description["detailedDescription"] = (description.get("detailedDescription") or "Détails. ") * 40
    while len(json.dumps(record)) < size:
        n = len(sites)
        sites.extend({**template, "facility": f"{template.get('facility')} — site {n + i} ☤"} for i in range(500))
    return record


STATUSES = ["RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED", "TERMINATED", "WITHDRAWN"]
DATES = st.builds(
    lambda y, m, d, precision: f"{y:04d}" + (f"-{m:02d}" if precision else "") + (f"-{d:02d}" if precision == 2 else ""),
    st.integers(1990, 2035), st.integers(1, 12), st.integers(1, 28), st.integers(0, 2),
)


@st.composite
def edited(draw: st.DrawFn, record: dict[str, Any], max_changes: int = 4) -> dict[str, Any]:
    """Return a copy of a record with a few values changed the way a registry update would: same types."""
    record = copy.deepcopy(record)
    for _ in range(draw(st.integers(1, max_changes))):
        path = draw(st.sampled_from(list(node_paths(record))))
        parent, key, old = get(record, path[:-1]), path[-1], get(record, path)
        if isinstance(parent, dict) and draw(st.booleans()) and key not in {"protocolSection", "identificationModule",
                                                                             "nctId"}:
            del parent[key]
        elif isinstance(old, bool):
            parent[key] = not old
        elif isinstance(old, int):
            parent[key] = draw(st.integers(0, 10**6))
        elif isinstance(old, float):
            parent[key] = draw(st.floats(-90, 90))
        elif isinstance(old, list):
            parent[key] = draw(st.permutations(old)) if draw(st.booleans()) else old[: draw(st.integers(0, len(old)))]
        elif isinstance(old, str) and key != "nctId":
            if key == "date" or str(key).endswith("Date"):
                parent[key] = draw(DATES)
            elif key in {"overallStatus", "status"}:
                parent[key] = draw(st.sampled_from(STATUSES))
            else:
                parent[key] = draw(odd_text(40)) or old + "."
    return record
