"""The project's settings: ``<workdir>/quarterstats.toml``, read and checked in one place.

:func:`load_settings` reads the file (absent file: every default) into a frozen :class:`Settings`,
one section per parameter dataclass:

* ``[city]`` — :class:`CitySettings` (name and source line of the published artefacts);
* ``[disclosure]`` — :class:`quarterstats.disclosure.DisclosureConfig`;
* ``[indicators]`` — :class:`quarterstats.catalogue.IndicatorParameters`;
* ``[migration]`` — :class:`quarterstats.migration.MigrationParameters`;
* ``[boundaries]`` — :class:`quarterstats.boundaries.BoundaryParameters` (tolerances and repair of the
  boundary files, the series geography).

Every stage takes its parameters from the one :class:`Settings` (``stages.py``); nothing reads the file
on its own. A section is a field of :class:`Settings` whose type is a frozen dataclass with defaults:
adding one (e.g. ``boundaries: BoundaryParameters = field(default_factory=BoundaryParameters)``) is
the whole registration; keys, types, defaults and the documentation (:func:`reference_markdown`,
``docs/settings.md``) follow from the dataclass.

The file is refused as a whole, with one :class:`~quarterstats.errors.InputError` naming the file,
``[section] key`` and the rule, when it holds an unknown section or key, a value of the wrong type
(checked against the dataclass's annotations; TOML arrays become tuples) or a value the dataclass's
own ``__post_init__`` rejects (out of range, inconsistent), or keys of two sections that contradict
each other (``[migration]`` and ``[indicators]`` ``minor_age_limit``). The cell-key salt is a secret and is read
from the environment only; a ``salt`` in the file is refused.

:meth:`Settings.sha256` is a hash of the effective settings (without the salt); it goes into the
provenance of every published table and report and into the record of each reference date's outputs
(:func:`quarterstats.stages.settings_record`), so that outputs of an earlier run with other settings
are recomputed (``quarterstats run``) or refused (a single Dagster partition), never silently reused.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import re
import textwrap
import tomllib
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from quarterstats.boundaries import BoundaryParameters
from quarterstats.catalogue import IndicatorParameters
from quarterstats.disclosure.config import LEGAL_FLOOR, SALT_ENV_VAR, DisclosureConfig
from quarterstats.errors import InputError
from quarterstats.migration import MigrationParameters

__all__ = ["CONFIG_FILE", "CitySettings", "Settings", "load_settings", "reference_markdown", "settings_from_mapping",
           "settings_toml"]

#: Name of the settings file in the working directory (of each municipality).
CONFIG_FILE = "quarterstats.toml"  # (ProjectPaths.settings_file)
#: Keys never accepted from the file, with the reason.
_SECRET_KEYS = {
    ("disclosure", "salt"): f"the cell key salt is a secret: set it in the environment variable {SALT_ENV_VAR}, "
                            "never in a file",
}


@dataclass(frozen=True)
class CitySettings:
    """Name of the city and source line shown in every published table, figure and report."""

    #: City name in titles and captions; empty: "Kaiserslautern (synthetisch)" for the synthetic default
    #: (``data/raw/synthetic_truth`` exists), else "Stadt".
    name: str = ""
    #: Source line ("Quelle") of tables and figures; empty: "Melderegister, anonymisierter statistischer
    #: Auszug" (plus a note on synthetic data for the synthetic default).
    source: str = ""

    def resolved(self, synthetic: bool) -> "CitySettings":
        """The settings with the defaults filled in (they depend on whether the data are synthetic)."""
        from quarterstats.publication import SOURCE_DE, SYNTHETIC_SOURCE_DE

        return CitySettings(
            name=self.name or ("Kaiserslautern (synthetisch)" if synthetic else "Stadt"),
            source=self.source or (SYNTHETIC_SOURCE_DE if synthetic else SOURCE_DE),
        )


@dataclass(frozen=True)
class Settings:
    """Every parameter of a run, one section per ``[section]`` of ``quarterstats.toml`` (immutable)."""

    city: CitySettings = field(default_factory=CitySettings)
    disclosure: DisclosureConfig = field(default_factory=DisclosureConfig)
    indicators: IndicatorParameters = field(default_factory=IndicatorParameters)
    migration: MigrationParameters = field(default_factory=MigrationParameters)
    boundaries: BoundaryParameters = field(default_factory=BoundaryParameters)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Sections → keys → values (tuples as lists), without the salt: what :meth:`sha256` hashes."""
        out = {}
        for section in fields(self):
            values = asdict(getattr(self, section.name))
            for secret_section, key in _SECRET_KEYS:
                if secret_section == section.name:
                    values.pop(key, None)
            out[section.name] = json.loads(json.dumps(values))
        return out

    def sha256(self) -> str:
        """Hash of the effective settings (canonical JSON of :meth:`as_dict`; the salt is left out)."""
        text = json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sections() -> dict[str, type]:
    """``[section]`` name → its dataclass, in file order."""
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in fields(Settings)}


# ----------------------------------------------------------------------------------------- loading
def load_settings(workdir: str | Path) -> Settings:
    """The settings of ``<workdir>/quarterstats.toml`` (every default where the file is absent), with the
    city defaults filled in for the project in ``workdir``. Raises :class:`InputError` for a file that is
    not valid TOML or breaks a rule (see the module docstring)."""
    from quarterstats.paths import ProjectPaths

    paths = ProjectPaths.from_workdir(workdir)
    path = paths.settings_file
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"not valid TOML: {exc}", file=path, rule="settings.syntax") from None
        except UnicodeDecodeError:
            raise InputError("not valid TOML: the file must be UTF-8", file=path, rule="settings.syntax") from None
    settings = settings_from_mapping(data, file=path)
    return replace(settings, city=settings.city.resolved(paths.synthetic_truth.is_dir()))


def settings_from_mapping(data: dict[str, Any], *, file: str | Path = CONFIG_FILE) -> Settings:
    """:class:`Settings` from the parsed TOML ``data`` (sections → keys → values), checked as
    :func:`load_settings` describes; ``file`` is named in the messages."""
    known = sections()
    unknown = [name for name in data if name not in known]
    if unknown:
        raise InputError(f"unknown section [{unknown[0]}] (known sections: "
                         f"{', '.join(f'[{s}]' for s in known)})", file=file, rule="settings.unknown_section")
    built = {}
    for name, cls in known.items():
        values = data.get(name, {})
        if not isinstance(values, dict):
            raise InputError(f"[{name}] must be a table (a section), not a single value",
                             file=file, rule="settings.type")
        built[name] = _section(name, cls, values, file)
    _check_across_sections(built, file)
    return Settings(**built)


def _check_across_sections(built: dict[str, Any], file: str | Path) -> None:
    """Rules that tie keys of two sections together (rule ``settings.value``).

    ``[migration] minor_age_limit`` (who can have a familial migration background) and ``[indicators]
    minor_age_limit`` (who counts as a minor, e.g. ``with_mh_minors``) both mean the age of majority: with
    different values the minors with migration background would mix two definitions of "minor"."""
    migration, indicators = built["migration"].minor_age_limit, built["indicators"].minor_age_limit
    if migration != indicators:
        raise InputError(f"[migration] minor_age_limit: {migration} differs from [indicators] minor_age_limit "
                         f"{indicators}; both are the age of majority and must be equal",
                         file=file, rule="settings.value")


def _section(section: str, cls: type, values: dict[str, Any], file: str | Path) -> Any:
    hints = typing.get_type_hints(cls)
    allowed = [f.name for f in fields(cls) if (section, f.name) not in _SECRET_KEYS]
    kwargs = {}
    for key, value in values.items():
        where = f"[{section}] {key}"
        if (section, key) in _SECRET_KEYS:
            raise InputError(f"{where}: {_SECRET_KEYS[(section, key)]}", file=file, rule="settings.secret")
        if key not in allowed:
            raise InputError(f"{where}: unknown key (keys of [{section}]: {', '.join(allowed)})",
                             file=file, rule="settings.unknown_key")
        converted, problem = _convert(value, hints[key])
        if problem:
            raise InputError(f"{where}: {problem}, got {_shown(value)}", file=file, rule="settings.type")
        kwargs[key] = converted
    try:
        return cls(**kwargs)
    except InputError as exc:  # a section that names its own rule (e.g. boundaries.parameters)
        where = f"[{section}] {exc.column}" if exc.column else f"[{section}]"
        message = exc.message if exc.message.startswith("[") else f"{where}: {exc.message}"
        raise InputError(message, file=file, rule=exc.rule) from None
    except (ValueError, TypeError) as exc:
        message = str(exc)
        named = [k for k in allowed if re.search(rf"\b{re.escape(k)}\b", message)]
        key = next((k for k in named if k in values), named[0] if named else None)
        where = f"[{section}] {key}" if key else f"[{section}]"
        raise InputError(f"{where}: {message}", file=file, rule="settings.value") from None


def _shown(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, (list, dict)) else f"{value!r}"


_TYPE_NAMES = {int: "a whole number", float: "a number", str: "a text", bool: "true or false"}


def _convert(value: Any, hint: Any) -> tuple[Any, str | None]:
    """(value converted to ``hint``, None) or (None, what was expected). TOML arrays become tuples."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None, None
        for option in options:
            if option is type(None):
                continue
            converted, problem = _convert(value, option)
            if problem is None:
                return converted, None
        return None, " or ".join(_describe(o) for o in options if o is not type(None))
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list):
            return None, f"expected {_describe(hint)}"
        if len(args) == 2 and args[1] is Ellipsis:
            element_types = [args[0]] * len(value)
        else:
            element_types = list(args)
            if len(value) != len(args):
                return None, f"expected {_describe(hint)}"
        items = []
        for item, element in zip(value, element_types):
            converted, problem = _convert(item, element)
            if problem:
                return None, f"expected {_describe(hint)}"
            items.append(converted)
        return tuple(items), None
    if hint is bool:
        return (value, None) if isinstance(value, bool) else (None, f"expected {_describe(hint)}")
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return (value, None) if ok else (None, f"expected {_describe(hint)}")
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return (float(value), None) if ok else (None, f"expected {_describe(hint)}")
    if hint is str:
        return (value, None) if isinstance(value, str) else (None, f"expected {_describe(hint)}")
    return None, f"unsupported setting type {hint!r}"


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_plural(args[0])}"
        return f"a list of {len(args)} {_plural(args[0])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint) if a is not type(None))
    return _TYPE_NAMES.get(hint, repr(hint))


def _plural(hint: Any) -> str:
    return {int: "whole numbers", float: "numbers", str: "texts", bool: "true/false values"}.get(hint, repr(hint))


def _toml_type(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        inner = _toml_type(args[0])
        return f"array of {inner}s" if len(args) == 2 and args[1] is Ellipsis else f"array of {len(args)} {inner}s"
    return {int: "integer", float: "float", str: "string", bool: "boolean"}.get(hint, str(hint))


# ----------------------------------------------------------------------------------- documentation
def field_docs(cls: type) -> dict[str, str]:
    """Each field's documentation from the dataclass's source: ``#:`` comments above the field, or the
    ``Attributes:`` section of the class docstring (Google style)."""
    docs: dict[str, str] = {}
    doc = inspect.getdoc(cls) or ""
    match = re.search(r"^Attributes:\n((?:[ \t]+.*\n?|\n)+)", doc, flags=re.MULTILINE)
    if match:
        block = textwrap.dedent(match.group(1))
        current = None
        for line in block.splitlines():
            head = re.match(r"^(\w+):\s*(.*)$", line)
            if head:
                current = head.group(1)
                docs[current] = head.group(2).strip()
            elif current and line.strip():
                docs[current] += " " + line.strip()
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    for node in ast.parse(source).body[0].body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            comment = []
            row = node.lineno - 2  # the line above, 0-based
            while row >= 0 and lines[row].strip().startswith("#:"):
                comment.insert(0, lines[row].strip()[2:].strip())
                row -= 1
            if comment:
                docs[node.target.id] = " ".join(comment)
    return docs


def settings_toml(settings: Settings) -> str:
    """``settings`` as the text of a ``quarterstats.toml`` that sets every key (loads to the same settings;
    the salt is left out). Texts are written as TOML basic strings, escaped by JSON's rules."""
    lines = []
    for section, values in settings.as_dict().items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_default_toml(tuple(v) if isinstance(v, list) else v)}" for key, v in values.items()]
        lines.append("")
    return "\n".join(lines)


def _markdown(text: str) -> str:
    """reStructuredText literals (double backticks) as Markdown code."""
    return text.replace("``", "`")


def _default_toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple):
        return "[" + ", ".join(_default_toml(v) for v in value) + "]"
    return repr(value)


def reference_markdown() -> str:
    """``docs/settings.md``: every section and key of ``quarterstats.toml`` with type, default and meaning,
    generated from the dataclasses (``tests/test_settings.py`` checks the file against it)."""
    out = [
        "# Settings: `quarterstats.toml`",
        "",
        "<!-- generated from the dataclasses by quarterstats.settings.reference_markdown(); do not edit by hand:",
        "     regenerate with `quarterstats settings --reference > docs/settings.md` -->",
        "",
        "The working directory (each municipality's folder in the municipality layout) may hold a",
        "`quarterstats.toml`. Every key is optional; a missing file or key means the default below. The",
        "whole file is checked before anything runs: an unknown section or key, a value of the wrong type or",
        "an impossible value stops `quarterstats run` with one message naming the file, `[section] key` and",
        "the rule (exit code 2). The cell key salt is a secret and is never read from the file: set",
        f"`{SALT_ENV_VAR}` in the environment.",
        "",
        f"Counts of 1 and 2 are never published silently: `min_count` below {LEGAL_FLOOR} is refused unless",
        "`[disclosure]` also sets `allow_below_legal_floor = true` and gives a `legal_floor_reason`; then",
        "`quarterstats run` prints a warning, and the protection text of the report and of every workbook says",
        "so.",
        "",
        "The hash of the effective settings (SHA-256, without the salt) is part of the provenance of every",
        "workbook and report. Outputs of a reference date made with other settings are recomputed by",
        "`quarterstats run`; a single Dagster partition whose earlier dates were made with other settings",
        "stops and names them.",
        "",
    ]
    for name, cls in sections().items():
        summary = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ").split(". ")[0].rstrip(".")
        out += [f"## `[{name}]`", "", _markdown(summary) + ".", ""]
        docs = field_docs(cls)
        hints = typing.get_type_hints(cls)
        out += ["| key | type | default | meaning |", "|---|---|---|---|"]
        for f in fields(cls):
            if (name, f.name) in _SECRET_KEYS:
                continue
            default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
            meaning = _markdown(docs.get(f.name, "")).replace("|", "\\|")
            out.append(f"| `{f.name}` | {_toml_type(hints[f.name])} | `{_default_toml(default)}` | {meaning} |")
        out.append("")
    return "\n".join(out)
