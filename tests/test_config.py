"""Configuration: overlays, overrides, and validation that names the key at fault."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from custseg.config import load_config
from custseg.errors import ConfigError

CONF = Path(__file__).resolve().parents[1] / "conf"


def test_shipped_config_loads_for_every_environment() -> None:
    for env in ("local", "standalone", "cluster"):
        config = load_config(CONF, env)
        assert config.env == env
        assert config.sources["orders"].primary_key == ["order_id"]
    assert load_config(CONF, "cluster").storage.delta_engine == "native"
    assert load_config(CONF, "local").storage.delta_engine == "auto"


def test_overrides_are_parsed_as_yaml_values() -> None:
    config = load_config(CONF, "local", [
        "segment.k_max=7", "spark.ui_enabled=true", "generate.end_date=2025-01-31",
        "resolve.term_frequency=[last_name]", "clean.currency_rates.JPY=0.0067",
    ])
    assert config.segment.k_max == 7
    assert config.spark.ui_enabled is True
    assert config.generate.end_date == dt.date(2025, 1, 31)
    assert config.resolve.term_frequency == ["last_name"]
    assert config.clean.currency_rates["JPY"] == pytest.approx(0.0067)


def test_relative_paths_resolve_against_the_project_folder() -> None:
    config = load_config(CONF, "local", ["storage.root=somewhere/data"])
    assert config.root_dir == str(CONF.parent / "somewhere" / "data")
    assert config.warehouse_dir.endswith("somewhere/data/warehouse")
    uri = load_config(CONF, "local", ["storage.root=s3a://bucket/custseg/"])
    assert uri.warehouse_dir == "s3a://bucket/custseg/warehouse"


def test_every_problem_is_reported_at_once_with_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CONF, "local", [
            "segmnt.k_max=3", "spark.shuffle_partitions=many", "storage.delta_engine=fast",
            "generate.customers=0", "clean.reporting_currency=JPY",
        ])
    problems = caught.value.problems
    assert problems == [
        "segmnt: unknown key (did you mean 'segment'?)",
        "spark.shuffle_partitions: expected int, got str 'many'",
        "storage.delta_engine: 'fast' is not one of 'auto', 'native', 'deltars'",
        "generate: customers must be >= 1, got 0",
        "clean: reporting_currency 'JPY' has no entry in currency_rates",
    ]
    assert "5 problem(s)" in str(caught.value)


def test_unknown_environment_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"--env prod: .*known environments: cluster, local, standalone"):
        load_config(CONF, "prod")


def test_missing_sources_file_is_named() -> None:
    with pytest.raises(ConfigError, match=r"ingest.sources_file: file not found: .*nowhere.yaml"):
        load_config(CONF, "local", ["ingest.sources_file=nowhere.yaml"])


def test_malformed_override_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"--set 'segment.k_max': expected key.path=value"):
        load_config(CONF, "local", ["segment.k_max"])


def test_source_declaration_errors_name_the_source(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    (conf / "env").mkdir(parents=True)
    (conf / "base.yaml").write_text((CONF / "base.yaml").read_text())
    (conf / "env" / "local.yaml").write_text("{}")
    sources = {"sources": {"shop": {
        "format": "xml", "path": "shop/*.xml", "primary_key": ["id", "missing"],
        "columns": [{"name": "id", "type": "string", "requierd": True}],
    }}}
    (conf / "sources.yaml").write_text(yaml.safe_dump(sources))
    (conf / "rules.yaml").write_text("rules: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(conf, "local")
    assert caught.value.problems == [
        "sources.shop.format: 'xml' is not one of 'csv', 'json', 'parquet'",
        "sources.shop.columns[0].requierd: unknown key (did you mean 'required'?)",
    ]


def test_cross_field_rule_on_source_keys(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    (conf / "env").mkdir(parents=True)
    (conf / "base.yaml").write_text((CONF / "base.yaml").read_text())
    (conf / "env" / "local.yaml").write_text("{}")
    sources = {"sources": {"shop": {
        "format": "csv", "path": "shop/*.csv", "primary_key": ["order_no"],
        "columns": [{"name": "id"}],
    }}}
    (conf / "sources.yaml").write_text(yaml.safe_dump(sources))
    (conf / "rules.yaml").write_text("rules: {}\n")
    with pytest.raises(ConfigError, match=r"sources.shop: primary_key names undeclared column\(s\) \['order_no'\]"):
        load_config(conf, "local")


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    (conf / "env").mkdir(parents=True)
    (conf / "base.yaml").write_text("spark:\n  master: [unclosed\n")
    with pytest.raises(ConfigError, match=r"base.yaml line \d+, column \d+: invalid YAML"):
        load_config(conf, None)


def test_config_hash_changes_with_settings() -> None:
    first = load_config(CONF, "local").config_hash
    assert load_config(CONF, "local").config_hash == first
    assert load_config(CONF, "local", ["segment.k_max=9"]).config_hash != first


def test_segment_features_must_be_customer_feature_columns() -> None:
    with pytest.raises(ConfigError, match=r"segment.frequency_features: \['city'\] are not customer_features columns"):
        load_config(CONF, "local", ["segment.frequency_features=[city]"])
    assert load_config(CONF, "local", ["segment.categorical_features=[gender, region]"]).segment.categorical_features == [
        "gender", "region"]
