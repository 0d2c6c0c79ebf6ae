"""Numbers from forms and query strings: ASCII digits only, never an exception."""

from __future__ import annotations

import pytest

from badgeserver.web.flow_support import form_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7", 7), (" 42 ", 42), ("0", None), ("²", None), ("٣", None), ("-1", None), ("1e3", None),
     ("", None), (None, None), ("99999999999", None), ("2147483647", 2147483647), ("2147483648", None)],
)
def test_form_number(text, expected):
    assert form_number(text) == expected
