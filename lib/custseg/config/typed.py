"""Build frozen dataclasses from plain YAML data, collecting every problem with its key path.

A field's type annotation is the contract: ``str``, ``int``, ``float``, ``bool``, ``date``,
``Literal[...]``, ``list[T]``, ``dict[str, T]``, ``T | None`` and nested dataclasses. A field
without a default is required. Unknown keys are errors, with the closest known key suggested,
so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import types
import typing
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

T = TypeVar("T")


def build(cls: type[T], data: Any, path: str, problems: list[str]) -> T | None:
    """Convert ``data`` into an instance of dataclass ``cls``; append problems, never raise."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(f"{path or '<root>'}: expected a mapping, got {_describe(data)}")
        return None
    hints = get_type_hints(cls, include_extras=True)
    # A field marked `derived` is set by the loader from other keys, never from the YAML.
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("derived")}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            problems.append(f"{_join(path, str(key))}: unknown key{_suggest(str(key), list(fields))}")
    values: dict[str, Any] = {}
    problems_before = len(problems)
    for name, field in fields.items():
        key_path = _join(path, name)
        if name in data:
            values[name] = convert(hints[name], data[name], key_path, problems)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            problems.append(f"{key_path}: required key is missing")
    if len(problems) > problems_before:
        return None  # cross-field checks on bad values would only add confusing noise
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:  # __post_init__ checks raise ValueError
        problems.append(f"{path or '<root>'}: {exc}")
        return None


def convert(hint: Any, value: Any, path: str, problems: list[str]) -> Any:
    """Check ``value`` against ``hint`` and return it converted; record a problem if it fails."""
    origin = get_origin(hint)
    if origin is typing.Annotated:
        return convert(get_args(hint)[0], value, path, problems)
    if origin in (typing.Union, types.UnionType):
        options = get_args(hint)
        if value is None and type(None) in options:
            return None
        non_null = [o for o in options if o is not type(None)]
        # The first option the value fits: `str | RoleColumn` takes a name or a mapping.
        attempts = []
        for option in non_null:
            found: list[str] = []
            converted = convert(option, value, path, found)
            if not found:
                return converted
            attempts.append(found)
        fitting = [a for o, a in zip(non_null, attempts, strict=True)
                   if dataclasses.is_dataclass(o) == isinstance(value, dict)]
        problems.extend((fitting or attempts)[0])
        return value
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            problems.append(f"{path}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if origin is list:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {_describe(value)}")
            return []
        (item_hint,) = get_args(hint)
        return [convert(item_hint, v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a mapping, got {_describe(value)}")
            return {}
        _, value_hint = get_args(hint)
        return {str(k): convert(value_hint, v, _join(path, str(k)), problems) for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return build(hint, value, path, problems)  # type: ignore[arg-type]
    return _convert_scalar(hint, value, path, problems)


def _convert_scalar(hint: Any, value: Any, path: str, problems: list[str]) -> Any:
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # YAML reads `4g` as str but `2` as int; sizes may be either
    elif hint is dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
    else:
        raise TypeError(f"unsupported config type {hint!r} at {path}")
    problems.append(f"{path}: expected {_type_name(hint)}, got {_describe(value)}")
    return value


def _type_name(hint: Any) -> str:
    return {dt.date: "a date (YYYY-MM-DD)", bool: "true or false"}.get(hint, getattr(hint, "__name__", str(hint)))


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(sorted(known))})"
