"""Load ``conf/base.yaml``, overlay ``conf/env/<env>.yaml``, apply ``--set`` overrides, validate.

Every problem (unknown key, wrong type, missing file) is collected and raised together as a
ConfigError before Spark starts, so one run shows the user everything to fix.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import os
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from custseg import tables
from custseg.config import typed
from custseg.config.model import BlockingRule, Settings, SourceSpec, unmapped_roles
from custseg.config.resolved import Config
from custseg.errors import ConfigError

log = logging.getLogger(__name__)
CONF_DIR_ENV = "CUSTSEG_CONF_DIR"
# Sections kept in files of their own: section -> (owning section, key naming the file, default).
SIDE_FILES = {
    "sources": ("ingest", "sources_file", "conf/sources.yaml"),
    "rules": ("quality", "rules_file", "conf/rules.yaml"),
}


def load_config(
    conf_dir: str | Path | None = None,
    env: str | None = "local",
    overrides: Sequence[str] = (),
    config_files: Sequence[str | Path] = (),
) -> Config:
    """Load and validate the configuration.

    Layers, each over the one before: ``base.yaml``, ``env/<env>.yaml``, each of
    ``config_files`` in order, then ``overrides``. Mappings merge key by key, except the
    either/or settings (``resolve.input``, ``resolve.columns``), which a layer replaces whole.

    Args:
        conf_dir: folder holding ``base.yaml`` and ``env/``; defaults to ``$CUSTSEG_CONF_DIR``,
            then ``./conf``, then the ``conf/`` folder of the source checkout.
        env: overlay name (``conf/env/<env>.yaml``); None for base only.
        overrides: ``a.b=c`` strings; values are parsed as YAML (``3``, ``true``, ``[a, b]``).
        config_files: a user's YAML files (``--config``), relative to the working folder.

    Raises:
        ConfigError: listing every problem found, each naming its key or file.
    """
    conf_path = find_conf_dir(conf_dir)
    problems: list[str] = []
    data = _read_yaml(conf_path / "base.yaml", problems) or {}
    files = [str(conf_path / "base.yaml")]
    user_keys: set[str] = set()  # key paths set by a layer above base.yaml
    layers: list[tuple[Path, Any]] = []
    if env:
        env_file = conf_path / "env" / f"{env}.yaml"
        if env_file.is_file():
            layers.append((env_file, _read_yaml(env_file, problems) or {}))
        else:
            known = sorted(p.stem for p in (conf_path / "env").glob("*.yaml"))
            problems.append(f"--env {env}: no file {env_file} (known environments: {', '.join(known)})")
    for name in config_files:
        path = Path(name).expanduser()
        if not path.is_file():
            problems.append(f"--config {name}: file not found")
            continue
        layers.append((path, _read_yaml(path, problems)))
    for path, layer in layers:
        if layer is None:
            continue
        if not isinstance(layer, dict):
            problems.append(f"{path}: expected a mapping of sections, got {type(layer).__name__}")
            continue
        data = deep_merge(data, layer)
        user_keys |= _key_paths(layer)
        files.append(str(path))
    parsed = [_parse_override(o, problems) for o in overrides]
    side_sections = tuple(SIDE_FILES)
    _clear_replaced(data, [key for key, _ in parsed if key is not None])
    for key, value in parsed:
        if key is not None and not key.startswith(tuple(f"{name}." for name in side_sections)):
            _set_path(data, key, value, problems)
            user_keys |= {key} | (_key_paths(value, f"{key}.") if isinstance(value, dict) else set())
    project_dir = conf_path.parent.resolve()
    for section, (owner, file_key, default) in SIDE_FILES.items():
        if section in data:
            continue
        path = _resolve(project_dir, str(data.get(owner, {}).get(file_key, default)))
        if path.is_file():
            document = _read_yaml(path, problems) or {}
            data[section] = document.get(section, {}) if isinstance(document, dict) else {}
            files.append(str(path))
        else:
            problems.append(f"{owner}.{file_key}: file not found: {path}")
    for key, value in parsed:
        if key is not None and key.startswith(tuple(f"{name}." for name in side_sections)):
            _set_path(data, key, value, problems)
    problems_before = len(problems)
    omitted = _fit_default_rules(data, user_keys, problems)
    # Nothing fits: the one sentence naming the roles to map says it all.
    settings = typed.build(Settings, data, "", problems) if len(problems) == problems_before else None
    if settings is not None and not problems:
        problems += _rule_problems(settings) + _segment_problems(settings) + _channel_problems(settings)
    if problems or settings is None:
        raise ConfigError(problems, source=f"configuration ({', '.join(files)})")
    if omitted:
        fitted = dataclasses.replace(settings.resolve, omitted_blocking=omitted)
        settings = dataclasses.replace(settings, resolve=fitted)
    return Config(
        settings=settings,
        project_dir=project_dir,
        env=env or "base",
        files=tuple(files),
        overrides=tuple(overrides),
        config_hash=_hash(data),
    )


def _replaced_paths(cls: type = Settings, prefix: str = "") -> list[str]:
    """Key paths of the settings a layer replaces whole (fields marked ``replace``)."""
    paths = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        if f.metadata.get("replace"):
            paths.append(path)
        elif dataclasses.is_dataclass(hints[f.name]):
            paths += _replaced_paths(hints[f.name], f"{path}.")
    return paths


REPLACED = tuple(_replaced_paths())


def _key_paths(layer: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for key, value in layer.items():
        path = f"{prefix}{key}"
        paths.add(path)
        if isinstance(value, dict) and path not in REPLACED:
            paths |= _key_paths(value, f"{path}.")
    return paths


def _clear_replaced(data: dict[str, Any], keys: list[str]) -> None:
    """``--set resolve.input.path=x`` starts ``resolve.input`` afresh, as a layer giving it would."""
    for path in REPLACED:
        if any(key.startswith(f"{path}.") for key in keys):
            section, _, name = path.rpartition(".")
            node = data
            for part in section.split("."):
                node = node.get(part) if isinstance(node, dict) else None  # type: ignore[assignment]
            if isinstance(node, dict):
                node[name] = {}


def _fit_default_rules(data: dict[str, Any], user_keys: set[str], problems: list[str]) -> dict[str, str]:
    """Leave out the shipped blocking rules whose roles are not mapped; returns rule -> reason.

    Only shipped rules are fitted: a rule list given by any layer above base.yaml is the user's
    own, and a role it names that is not mapped stays an error.
    """
    resolve = data.get("resolve")
    if not isinstance(resolve, dict) or "resolve.blocking" in user_keys:
        return {}
    rules, columns = resolve.get("blocking"), resolve.get("columns")
    if not isinstance(rules, list) or not isinstance(columns, dict):
        return {}
    kept, omitted = [], {}
    for rule in rules:
        if not isinstance(rule, dict):
            return {}  # reported when the rules are built
        try:
            needed = BlockingRule(**{k: v for k, v in rule.items() if k in ("name", "type", "fields", "parts")})
        except (TypeError, ValueError):
            return {}  # reported, with its key path, when the rules are built
        unmapped = unmapped_roles(needed, columns)
        if unmapped:
            omitted[str(rule.get("name"))] = f"not mapped: {', '.join(unmapped)}"
        else:
            kept.append(rule)
    if omitted and not kept:
        wanted = sorted({role for reason in omitted.values() for role in reason.split(": ")[1].split(", ")})
        problems.append("resolve.columns: no shipped blocking rule fits the mapped roles; "
                        f"map one of {', '.join(wanted)} "
                        "(or give resolve.blocking rules of your own)")
        return {}
    for name, reason in omitted.items():
        log.debug("resolve: blocking rule %s left out (%s)", name, reason)  # the resolve job says it
    resolve["blocking"] = kept
    return omitted


def find_conf_dir(conf_dir: str | Path | None) -> Path:
    candidates = [Path(conf_dir)] if conf_dir else []
    if not conf_dir:
        if os.environ.get(CONF_DIR_ENV):
            candidates.append(Path(os.environ[CONF_DIR_ENV]))
        candidates += [Path.cwd() / "conf", Path(__file__).resolve().parents[3] / "conf"]
    for candidate in candidates:
        if (candidate / "base.yaml").is_file():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise ConfigError([f"no base.yaml found in {tried}; pass --conf-dir or set {CONF_DIR_ENV}"])


def deep_merge(base: dict[str, Any], overlay: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Overlay wins; mappings merge recursively, except the either/or settings (REPLACED),
    lists and scalars, which replace."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and path not in REPLACED:
            merged[key] = deep_merge(merged[key], value, f"{path}.")
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def declared_columns(sources: dict[str, SourceSpec]) -> dict[str, list[str]]:
    """Column names of every declared table, for checking configuration before Spark starts.

    A bronze table has its source's columns, then the lineage columns (as ``catalog.bronze_spec``).
    """
    declared = {spec.name: [c.name for c in spec.columns] for spec in tables.built_in()}
    for name, source in sources.items():
        declared[name] = [c.name for c in source.columns] + [c.name for c in tables.BRONZE_LINEAGE]
    return declared


def _rule_problems(settings: Settings) -> list[str]:
    """Rules must name declared tables and columns (checked here, before Spark starts)."""
    columns = declared_columns(settings.sources)
    problems = []
    for table, rules in settings.rules.items():
        if table not in columns:
            problems.append(f"rules.{table}: unknown table (known: {', '.join(sorted(columns))})")
            continue
        for index, rule in enumerate(rules):
            unknown = [c for c in rule.key_columns if c not in columns[table]]
            if rule.table is not None:
                if rule.table not in columns:
                    problems.append(f"rules.{table}[{index}].table: unknown table {rule.table!r}")
                else:
                    unknown += [f"{rule.table}.{c}" for c in rule.to if c not in columns[rule.table]]
            if unknown:
                problems.append(f"rules.{table}[{index}]: unknown column(s) {unknown}")
    return problems


def _segment_problems(settings: Settings) -> list[str]:
    """Segment features must be customer_features columns (checked before Spark starts)."""
    known = declared_columns(settings.sources)["customer_features"]
    segment = settings.segment
    problems = []
    for key in ("features", "categorical_features", "frequency_features"):
        unknown = [c for c in getattr(segment, key) if c not in known]
        if unknown:
            problems.append(f"segment.{key}: {unknown} are not customer_features columns (see docs/data_dictionary.md)")
    return problems


def _channel_problems(settings: Settings) -> list[str]:
    """The stream may activate only through channels a consent can be recorded for."""
    channels = settings.privacy.consent_channels
    return [f"stream.routing[{index}].channel: {rule.channel!r} is not among privacy.consent_channels {channels}; "
            "add it there, so that consent for it can be recorded and honoured"
            for index, rule in enumerate(settings.stream.routing) if rule.channel not in (*channels, "none")]


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(f"{path}{where}: invalid YAML ({getattr(exc, 'problem', exc)})")
    return None


def _parse_override(text: str, problems: list[str]) -> tuple[str | None, Any]:
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        problems.append(f"--set {text!r}: expected key.path=value")
        return None, None
    try:
        return key, yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        return key, raw


def _set_path(data: dict[str, Any], key: str, value: Any, problems: list[str]) -> None:
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            problems.append(f"--set {key}: {part!r} is not a section")
            return
        node = child
    node[parts[-1]] = value


def _resolve(project_dir: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else project_dir / candidate


def _hash(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
