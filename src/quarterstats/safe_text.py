"""Text from the inputs, made inert for every reader's tool: one layer for all published formats.

District names and ids, country names and any other text that comes from a delivery end up in
spreadsheets, CSV files, figures, HTML/SVG and console messages. None of these readers may *interpret*
it: a spreadsheet must not evaluate ``=HYPERLINK(...)``, matplotlib must not parse ``$...$`` as
mathtext, a browser must not run ``<script>``, a terminal must not act on an escape sequence.

* :func:`spreadsheet_text` — OWASP "CSV Injection": a text cell that starts with ``=``, ``+``, ``-``,
  ``@``, a tab, a carriage return or a line feed (or their full-width forms, which some spreadsheet
  programs fold to ASCII) is prefixed with a single quote ``'`` so that the spreadsheet shows it as
  text. Used for CSV cells; workbooks additionally store such text as a plain string cell with Excel's
  "quote prefix" style, never as a formula (:func:`is_formula_like`).
* :func:`console_text` — control characters (C0, DEL, C1), bidirectional overrides and other invisible
  format characters are shown as ``\\xNN``/``\\uNNNN`` escapes, and a long value is cut to a readable
  length, so a message printed to a terminal or a CI log shows exactly what was delivered and nothing
  acts on it.
* :func:`display_text` — the same escapes for text shown in a document (line breaks kept for the
  layout): figures, and workbook cells (which may not hold control characters at all). A control
  character is not even allowed in an SVG (XML) file, and a bidirectional override would
  turn the text around in a browser. :func:`quarterstats.figures.style.save_figure` applies it to every
  text of a figure just before it is saved (titles, labels, tick labels, legends, annotations, in the
  caller and in the worker processes alike), and figures are drawn with ``text.parse_math`` off, so a
  ``$...$`` in a name is shown as it is instead of being read as mathtext.
* HTML and SVG: the report templates render with autoescape on (:mod:`quarterstats.report`), and
  matplotlib escapes ``<``, ``>``, ``&`` and quotes in the text it writes into SVG. :func:`html_text`
  additionally escapes control characters and bidirectional formatting characters in every value the
  templates print (the report's own soft hyphens and zero-width spaces, which only break lines, stay).

References: OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection);
Unicode Technical Report #36 (Unicode security considerations: bidirectional text spoofing).
"""

from __future__ import annotations

import contextvars
import re
import unicodedata

__all__ = ["FORMULA_TRIGGERS", "console_lines", "console_text", "delivered_value", "display_text", "html_text",
           "is_formula_like", "reset_show_values", "shorten", "show_values", "spreadsheet_text"]

#: First characters that make a spreadsheet treat a cell as a formula or a command (OWASP), plus the
#: full-width forms of ``= + - @`` that some programs normalise to ASCII.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")

#: Longest value shown in a console message before it is cut (characters).
MAX_SHOWN = 80


def is_formula_like(text: str) -> bool:
    """True where a spreadsheet would read ``text`` (as the content of a cell) as a formula or command."""
    return bool(text) and text[0] in FORMULA_TRIGGERS


def spreadsheet_text(value: object) -> object:
    """``value`` made safe for a CSV/spreadsheet text cell; anything that is not a ``str`` is returned as it is.

    >>> spreadsheet_text("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> spreadsheet_text("Innenstadt-Ost")
    'Innenstadt-Ost'
    """
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _unsafe(char: str) -> bool:
    # Cc: C0/C1 controls and DEL; Cf: format characters (bidi overrides, zero-width joiners, BOM);
    # Zl/Zp: line and paragraph separators.
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` cut to at most ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters in all)".replace(",", ".")


def console_text(value: object, limit: int | None = MAX_SHOWN) -> str:
    """``value`` as one inert line for a console or log: control and format characters escaped, and cut
    to ``limit`` characters (None: not cut).

    >>> console_text("Nord\\x1b[31m")
    'Nord\\\\x1b[31m'
    """
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > limit:
        text = shorten(text, limit)
    if not any(_unsafe(c) for c in text):
        return text
    return "".join(_escape_char(c) if _unsafe(c) else c for c in text)


#: Whether messages show delivered values (pseudonyms, cell contents); off unless asked for
#: (``quarterstats validate --show-values``), so that CI logs and consoles carry none by default.
_SHOW_VALUES: contextvars.ContextVar[bool] = contextvars.ContextVar("quarterstats_show_values", default=False)


def show_values(enabled: bool) -> contextvars.Token:
    """Turn showing delivered values in messages on or off (returns the token to reset it)."""
    return _SHOW_VALUES.set(bool(enabled))


def reset_show_values(token: contextvars.Token) -> None:
    """Undo :func:`show_values`."""
    _SHOW_VALUES.reset(token)


def values_shown() -> bool:
    return _SHOW_VALUES.get()


def delivered_value(value: object) -> str:
    """A delivered value for a message: quoted and inert (:func:`console_text`, cut to a readable
    length) when values are shown, else a placeholder saying how long it is.

    >>> delivered_value("p-0001")
    '<hidden, 6 characters>'
    """
    if value is None:
        return "(empty)"
    text = value if isinstance(value, str) else str(value)
    if _SHOW_VALUES.get():
        return f"'{console_text(text)}'"
    return f"<hidden, {len(text)} characters>"


def display_text(value: object) -> str:
    """``value`` as inert text for a document (figure, workbook cell): control and format characters
    escaped as in :func:`console_text` except the line break (figures wrap long labels); never cut.

    >>> display_text("Nord\\u202eSüd\\nzweite Zeile")
    'Nord\\\\u202eSüd\\nzweite Zeile'
    """
    text = value if isinstance(value, str) else str(value)
    if not any(_unsafe(c) and c != "\n" for c in text):
        return text
    return "".join(_escape_char(c) if _unsafe(c) and c != "\n" else c for c in text)


def console_lines(value: object) -> str:
    """A whole console message made inert line by line: :func:`console_text` of each line (not cut), the
    line breaks kept. What the ``quarterstats`` command prints goes through this, so a value that reached
    a message unescaped still cannot act on the terminal.

    >>> console_lines("Bezirk \\x1b[31mNord\\n  zweite Zeile")
    'Bezirk \\\\x1b[31mNord\\n  zweite Zeile'
    """
    text = value if isinstance(value, str) else str(value)
    return "\n".join(console_text(line, limit=None) for line in text.split("\n"))


#: Bidirectional formatting characters (Unicode UAX #9): marks, embeddings, overrides, isolates.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: What :func:`html_text` escapes: the control characters (category Cc) except tab and line break, and
#: the bidirectional formatting characters. A regular expression, because the report prints values of
#: megabytes (the figures as data URIs), which a loop over characters would take seconds to scan.
_HTML_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "]")


def html_text(value: object) -> object:
    """A value printed into HTML (before autoescape): control characters other than line break and tab,
    and bidirectional formatting characters, escaped as in :func:`console_text`; other format
    characters (soft hyphen, zero-width space: break opportunities) kept. Anything that is not a
    ``str`` is returned as it is.

    >>> html_text("Nord\\u202eSüd\\u00ad")
    'Nord\\\\u202eSüd\\xad'
    """
    if not isinstance(value, str) or not _HTML_UNSAFE.search(value):
        return value
    return _HTML_UNSAFE.sub(lambda match: _escape_char(match.group()), value)
