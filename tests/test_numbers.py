"""systolic.numbers: ASCII digits only, as strtol/strtod read them; everything Python reads beyond is refused."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic.numbers import parse_float, parse_int


@pytest.mark.parametrize(("text", "value"), [("4", 4), ("-4", -4), ("+4", 4), (" 4\n", 4), ("0012", 12)])
def test_int(text, value):
    assert parse_int(text) == value


@pytest.mark.parametrize(
    "text", ["٤", "１２", "९", "1_6", "4.0", "1e3", "0x10", "", " ", "4 4", "--4", "four"]
)
def test_int_refuses(text):
    with pytest.raises(ValueError):
        parse_int(text)


@pytest.mark.parametrize(
    ("text", "value"), [("4", 4.0), ("-2.5", -2.5), ("3e-6", 3e-6), (".5", 0.5), ("5.", 5.0), ("1E3", 1e3)]
)
def test_float(text, value):
    assert parse_float(text) == value


@pytest.mark.parametrize("text", ["１e9", "٣.5", "1_0", "0x10", "1e", "e5", "", "1.2.3", "nanx", "1,5"])
def test_float_refuses(text):
    with pytest.raises(ValueError):
        parse_float(text)


@given(st.integers())
def test_every_int_round_trips(n):
    assert parse_int(str(n)) == n


@given(st.floats(allow_nan=False))
def test_every_float_round_trips(x):
    assert parse_float(repr(x)) == x


@given(st.text(alphabet=st.characters(min_codepoint=128), min_size=1, max_size=4))
def test_no_non_ascii_text_is_a_number(text):
    for parse in (parse_int, parse_float):
        with pytest.raises(ValueError):
            parse(text)
