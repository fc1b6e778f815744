import datetime as dt

import pytest

from server.dates import PartialDate


@pytest.mark.parametrize(
    ("text", "parsed", "precision", "earliest"),
    [
        ("2025", PartialDate(2025), "year", dt.date(2025, 1, 1)),
        ("2025-08", PartialDate(2025, 8), "month", dt.date(2025, 8, 1)),
        ("2025-08-14", PartialDate(2025, 8, 14), "day", dt.date(2025, 8, 14)),
        ("2024-02-29", PartialDate(2024, 2, 29), "day", dt.date(2024, 2, 29)),
        (" 1999-06 ", PartialDate(1999, 6), "month", dt.date(1999, 6, 1)),
    ],
)
def test_partial_dates_keep_their_precision(text, parsed, precision, earliest):
    date = PartialDate.parse(text)
    assert date == parsed
    assert date.precision == precision
    assert date.earliest() == earliest
    assert date.isoformat() == text.strip()


@pytest.mark.parametrize("text", ["", "08-2025", "2025-13", "2025-02-30", "2023-02-29", "2025-8", "May 2025", "2025-08-14T00:00"])
def test_malformed_dates_are_refused(text):
    with pytest.raises(ValueError):
        PartialDate.parse(text)


def test_partial_dates_order_by_what_is_known():
    assert PartialDate(2025) < PartialDate(2025, 1) < PartialDate(2025, 1, 1) < PartialDate(2025, 2)
