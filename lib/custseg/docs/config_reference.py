"""The configuration reference, generated from the schema (``custseg.config.model``) and the shipped
defaults (``conf/base.yaml``): every key with its type, its default and the comment beside it.

``custseg config-reference --output docs/config_reference.md`` writes it; a test keeps the
committed page equal to what this module generates, as it does for the data dictionary.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from custseg.config import model

SIDE_SECTIONS = {"sources": "conf/sources.yaml (ingest.sources_file)", "rules": "conf/rules.yaml (quality.rules_file)"}
_MISSING = object()  # a key base.yaml leaves out: its schema default applies
KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][\w.-]*):(?P<rest>.*)$")


def config_reference(base_yaml: Path) -> str:
    """The markdown page: one table per section, rows in schema order."""
    defaults = yaml.safe_load(base_yaml.read_text(encoding="utf-8")) or {}
    comments = {**schema_comments(), **yaml_comments(base_yaml)}
    lines = ["# Configuration reference", "",
             "Generated from `lib/custseg/config/model.py` and `conf/base.yaml` by "
             "`custseg config-reference --output docs/config_reference.md`; a test keeps it in step.", "",
             "`conf/base.yaml` holds the defaults, `conf/env/<env>.yaml` overlays them (`--env`) and "
             "`--set section.key=value` wins last. Unknown keys and wrong types stop a job before Spark starts.", ""]
    for section in dataclasses.fields(model.Settings):
        if section.name in SIDE_SECTIONS:
            lines += [f"## {section.name}", "", f"Declared in {SIDE_SECTIONS[section.name]}; see the README.", ""]
            continue
        lines += [f"## {section.name}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for key, kind, item_default in keys(_hints(model.Settings)[section.name], section.name):
            found = _lookup(defaults, key)
            default = item_default if "[]" in key or found is _MISSING else found
            lines.append(f"| `{key}` | {_cell(kind)} | {_cell(_show(default))} | {_cell(comments.get(key, ''))} |")
        lines.append("")
    return "\n".join(lines)


def keys(kind: Any, prefix: str, default: Any = None) -> list[tuple[str, str, Any]]:
    """Every leaf key under ``prefix`` with its type's name and its schema default; the fields of a
    list of dataclasses appear as ``key[].field``."""
    target = _dataclass_in(kind)
    if target is None:
        return [(prefix, _type_name(kind), default)] if "." in prefix else []
    inner = f"{prefix}[]" if typing.get_origin(kind) is list else prefix
    rows = [(prefix, f"list of {target.__name__}", None)] if inner != prefix else []
    for f in dataclasses.fields(target):
        rows += keys(_hints(target)[f.name], f"{inner}.{f.name}", _schema_default(f))
    return rows


def schema_comments() -> dict[str, str]:
    """Field name path -> the comment beside or above it in ``custseg.config.model``, per dataclass;
    keyed ``ClassName.field`` and, for fields of list items, ``section.key[].field``."""
    found: dict[str, str] = {}
    for section in dataclasses.fields(model.Settings):
        for key, _, _ in keys(_hints(model.Settings)[section.name], section.name):
            owner, _, name = key.rpartition(".")
            target = _owner_class(owner)
            if target is not None and name in _field_comments(target):
                found[key] = _field_comments(target)[name]
    return found


def _owner_class(path: str) -> type | None:
    kind: Any = model.Settings
    for part in path.split("."):
        target = _dataclass_in(kind)
        if target is None:
            return None
        kind = _hints(target).get(part.removesuffix("[]"))
    return _dataclass_in(kind)


@functools.cache
def _field_comments(cls: type) -> dict[str, str]:
    import inspect

    found: dict[str, str] = {}
    pending: list[str] = []
    for raw in inspect.getsource(cls).splitlines()[1:]:
        stripped = raw.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("# ").strip())
            continue
        match = re.match(r"^\s+(\w+): [^=]+(=.*)?$", raw)
        if match and not stripped.startswith(("def ", "return", "raise", "if ")):
            inline = raw.split("  #", 1)[1].strip() if "  #" in raw else ""
            if inline or pending:
                found.setdefault(match[1], inline or " ".join(pending))
        pending = []
    return found


def _schema_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return "(required)"


def yaml_comments(path: Path) -> dict[str, str]:
    """key path -> the comment at the end of its line, else the comment lines right above it."""
    found: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("# ").strip())
            continue
        match = KEY_LINE.match(raw)
        if not match or stripped.startswith("-"):
            pending = []
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        key = ".".join(k for _, k in stack)
        inline = match["rest"].split(" #", 1)[1].strip() if " #" in match["rest"] else ""
        if inline or pending:
            found[key] = inline or " ".join(pending)
        pending = []
    return found


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(model))


def _dataclass_in(kind: Any) -> type | None:
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return kind
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        return item if dataclasses.is_dataclass(item) and isinstance(item, type) else None
    return None


def _type_name(kind: Any) -> str:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is typing.Literal:
        return " | ".join(repr(a).replace("'", "") for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _type_name(a) for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map {_type_name(args[0])} to {_type_name(args[1])}"
    return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(
        getattr(kind, "__name__", str(kind)), getattr(kind, "__name__", str(kind)))


def _lookup(data: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if value == "(required)":
        return value
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    text = text.removesuffix("...").strip()
    return text if len(text) <= 60 else text[:57] + "..."


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") if text else ""
