"""Typed access to one JSON object, naming the record and field path in every error."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .dates import PartialDate
from .errors import InvalidRecord

# NUL and the other characters XML 1.0 cannot hold: PostgreSQL text columns refuse NUL, and
# feeds and RDF/XML the rest. The raw record keeps them; the typed view drops them.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _safe(text: str) -> str:
    return _UNSAFE.sub("", text) if _UNSAFE.search(text) else text


class Fields:
    """A view of one JSON object that checks each value's type as it is read."""

    __slots__ = ("_data", "_path", "_record")

    def __init__(self, data: Mapping[str, Any], path: str, record: str) -> None:
        self._data = data
        self._path = path
        self._record = record

    def _where(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _fail(self, key: str, expected: str) -> InvalidRecord:
        return InvalidRecord(self._record, self._where(key), f"expected {expected}")

    def raw(self, key: str) -> Any:
        """Return the value as it is, or None."""
        return self._data.get(key)

    def obj(self, key: str) -> Fields:
        """Return a nested object; a missing one reads as empty."""
        value = self._data.get(key)
        if value is None:
            return Fields({}, self._where(key), self._record)
        if not isinstance(value, Mapping):
            raise self._fail(key, "an object")
        return Fields(value, self._where(key), self._record)

    def objs(self, key: str) -> Iterator[Fields]:
        """Iterate over a list of objects; a missing list reads as empty."""
        for index, item in enumerate(self._list(key)):
            where = f"{self._where(key)}[{index}]"
            if not isinstance(item, Mapping):
                raise InvalidRecord(self._record, where, "expected an object")
            yield Fields(item, where, self._record)

    def _list(self, key: str) -> list[Any]:
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "a list")
        return value

    def text(self, key: str) -> str | None:
        """Return a string without control characters, or None when absent or blank."""
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        value = _safe(value)
        return value if value.strip() else None

    def texts(self, key: str) -> tuple[str, ...]:
        """Return a list of strings without control characters, blanks dropped."""
        values = self._list(key)
        if not all(isinstance(v, str) for v in values):
            raise self._fail(key, "a list of strings")
        return tuple(v for v in map(_safe, values) if v.strip())

    def code(self, key: str, limit: int) -> str | None:
        """Return a registry code (a status, a type) of at most ``limit`` characters, or None."""
        value = self.text(key)
        if value is not None and len(value) > limit:
            raise self._fail(key, f"a code of at most {limit} characters")
        return value

    def codes(self, key: str, limit: int) -> tuple[str, ...]:
        """Return a list of codes at most ``limit`` characters long when joined by spaces."""
        values = self.texts(key)
        if len(" ".join(values)) > limit:
            raise self._fail(key, f"codes of at most {limit} characters in all")
        return values

    def flag(self, key: str) -> bool | None:
        """Return a boolean, or None when absent."""
        value = self._data.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self._fail(key, "true or false")

    def integer(self, key: str) -> int | None:
        """Return an integer, or None when absent."""
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "an integer")
        return value

    def number(self, key: str) -> float | None:
        """Return a number, or None when absent."""
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._fail(key, "a number")
        return float(value)

    def date(self, key: str) -> PartialDate | None:
        """Return a partial date, or None when absent."""
        text = self.text(key)
        if text is None:
            return None
        try:
            return PartialDate.parse(text)
        except ValueError:
            raise self._fail(key, "a date YYYY[-MM[-DD]]") from None
