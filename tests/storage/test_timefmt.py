"""Stored times read back as the same aware UTC datetime; the fast reader agrees with strptime."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.timefmt import _FORMAT, from_db, to_db


def strict(value: str) -> datetime:
    return datetime.strptime(value, _FORMAT).replace(tzinfo=UTC)


NAIVE_RANGE = {"min_value": datetime(1970, 1, 1), "max_value": datetime(9999, 1, 1)}  # noqa: DTZ001


@given(st.datetimes(**NAIVE_RANGE, timezones=st.just(UTC)))
def test_a_stored_time_reads_back_to_the_second(moment: datetime) -> None:
    read = from_db(to_db(moment))
    assert read == moment.replace(microsecond=0) and read.tzinfo is UTC


# strings of the stored shape with any characters in it: both readers accept or both refuse
SHAPED = st.text(alphabet="0123456789-:TZ+. x", min_size=20, max_size=20)


@given(st.one_of(SHAPED, st.builds(lambda d: to_db(d), st.datetimes(timezones=st.just(UTC)))))
def test_the_fast_reader_agrees_with_strptime(value: str) -> None:
    try:
        expected = strict(value)
    except ValueError:
        with pytest.raises(ValueError):
            from_db(value)
    else:
        assert from_db(value) == expected and from_db(value).tzinfo is UTC
