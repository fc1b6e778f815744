"""Query parameters of listings: page numbers, filters, and links that keep them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask import abort, request, url_for

MAX_PAGE_DIGITS = 9
_PAGE = re.compile(f"[0-9]{{1,{MAX_PAGE_DIGITS}}}")


def refuse_nul() -> None:
    """Answer 400 to a request with a NUL in its path or parameters: PostgreSQL takes no NUL in text."""
    if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
        abort(400, "A URL and its parameters may not hold a NUL character (%00).")


def page_number() -> int:
    """Read ``?page=``: a whole number from 1."""
    text = request.args.get("page", "1")
    # ASCII digits, counted before int() reads them: "²" is a digit to isdigit() but no number to int().
    if not _PAGE.fullmatch(text) or int(text) < 1:
        abort(400, f"page must be a whole number from 1, not {text[:40]!r}")
    return int(text)


def choice(name: str, allowed: Mapping[str, str]) -> str | None:
    """Read an optional filter that must be one of the registry's codes."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if value not in allowed:
        abort(400, f"{name} must be one of {', '.join(allowed)}, not {value[:40]!r}.")
    return value


@dataclass(frozen=True)
class Paging:
    """Where a page sits in a listing."""

    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        """The position of the page's first row, from 1."""
        return (self.page - 1) * self.size + 1

    def url(self, page: int) -> str:
        """Link to another page of the same listing, keeping its filters."""
        args = {**request.args.to_dict(), **(request.view_args or {}), "page": page}
        return url_for(request.endpoint or "pages.home", **args)
