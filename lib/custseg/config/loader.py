"""Load ``conf/base.yaml``, overlay ``conf/env/<env>.yaml``, apply ``--set`` overrides, validate.

Every problem (unknown key, wrong type, missing file) is collected and raised together as a
ConfigError before Spark starts, so one run shows the user everything to fix.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from custseg.config import typed
from custseg.config.model import Settings
from custseg.config.resolved import Config
from custseg.errors import ConfigError

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
) -> Config:
    """Load and validate the configuration.

    Args:
        conf_dir: folder holding ``base.yaml`` and ``env/``; defaults to ``$CUSTSEG_CONF_DIR``,
            then ``./conf``, then the ``conf/`` folder of the source checkout.
        env: overlay name (``conf/env/<env>.yaml``); None for base only.
        overrides: ``a.b=c`` strings; values are parsed as YAML (``3``, ``true``, ``[a, b]``).

    Raises:
        ConfigError: listing every problem found, each naming its key or file.
    """
    conf_path = find_conf_dir(conf_dir)
    problems: list[str] = []
    data = _read_yaml(conf_path / "base.yaml", problems) or {}
    files = [str(conf_path / "base.yaml")]
    if env:
        env_file = conf_path / "env" / f"{env}.yaml"
        if env_file.is_file():
            data = deep_merge(data, _read_yaml(env_file, problems) or {})
            files.append(str(env_file))
        else:
            known = sorted(p.stem for p in (conf_path / "env").glob("*.yaml"))
            problems.append(f"--env {env}: no file {env_file} (known environments: {', '.join(known)})")
    parsed = [_parse_override(o, problems) for o in overrides]
    side_sections = tuple(SIDE_FILES)
    for key, value in parsed:
        if key is not None and not key.startswith(tuple(f"{name}." for name in side_sections)):
            _set_path(data, key, value, problems)
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
    settings = typed.build(Settings, data, "", problems)
    if settings is not None and not problems:
        problems += _rule_problems(settings) + _segment_problems(settings)
    if problems or settings is None:
        raise ConfigError(problems, source=f"configuration ({', '.join(files)})")
    return Config(
        settings=settings,
        project_dir=project_dir,
        env=env or "base",
        files=tuple(files),
        overrides=tuple(overrides),
        config_hash=_hash(data),
    )


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


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Overlay wins; mappings merge recursively, lists and scalars replace."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _rule_problems(settings: Settings) -> list[str]:
    """Rules must name declared tables and columns (checked here, before Spark starts)."""
    from custseg.catalog import declared_columns  # late import: the catalog imports config

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
    from custseg.catalog import declared_columns

    known = declared_columns(settings.sources)["customer_features"]
    segment = settings.segment
    problems = []
    for key in ("features", "categorical_features", "frequency_features"):
        unknown = [c for c in getattr(segment, key) if c not in known]
        if unknown:
            problems.append(f"segment.{key}: {unknown} are not customer_features columns (see docs/data_dictionary.md)")
    return problems


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
