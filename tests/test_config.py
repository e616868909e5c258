"""Configuration: overlays, overrides, and validation that names the key at fault."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from pathlib import Path

import pytest
import yaml

from custseg.catalog import Catalog
from custseg.config import load_config
from custseg.config.loader import declared_columns
from custseg.config.model import Settings
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
    categorical = load_config(CONF, "local", ["segment.categorical_features=[gender, region]"])
    assert categorical.segment.categorical_features == ["gender", "region"]


def test_every_channel_the_stream_activates_through_takes_consent() -> None:
    with pytest.raises(ConfigError, match=r"stream.routing\[1\].channel: 'push' is not among "
                                          r"privacy.consent_channels \['email', 'sms'\]"):
        load_config(CONF, "local", ["privacy.consent_channels=[email, sms]", "privacy.opt_in_channels=[email]"])
    with pytest.raises(ConfigError, match=r"opt_in_channels must be a non-empty list of consent_channels"):
        load_config(CONF, "local", ["privacy.opt_in_channels=[fax]"])
    with pytest.raises(ConfigError, match=r"recommend_channel 'fax' is not among consent_channels"):
        load_config(CONF, "local", ["privacy.recommend_channel=fax"])
    silent = load_config(CONF, "local", ["stream.routing=[{segment: Low-Risk, channel: none}]"])
    assert [r.channel for r in silent.stream.routing] == ["none"]  # no channel: nothing to consent to


def test_a_users_config_file_overlays_base_and_env_before_set(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("segment: {k_max: 6, k_min: 4}\nresolve:\n  input: {path: /data/people.csv, format: csv}\n"
                    "  columns: {record_id: id, first_name: First, last_name: Surname, email: Mail}\n")
    later = tmp_path / "later.yaml"
    later.write_text("segment: {k_max: 7}\n")
    config = load_config(CONF, "local", ["segment.k_min=5"], [mine, later])
    assert (config.segment.k_min, config.segment.k_max) == (5, 7)  # files in order, then --set
    # An either/or setting given by a layer replaces the shipped one: no `table: null` needed,
    # and the user's column mapping is the whole mapping, not merged with the shipped one.
    assert (config.resolve.input.table, config.resolve.input.path) == (None, "/data/people.csv")
    assert config.resolve.column_names == {"record_id": "id", "first_name": "First", "last_name": "Surname",
                                           "email": "Mail"}
    assert str(mine) in config.files and str(later) in config.files
    by_set = load_config(CONF, "local", ["resolve.input.path=/data/people.csv", "resolve.columns.record_id=id",
                                         "resolve.columns.email=Mail"])
    assert by_set.resolve.input.table is None and by_set.resolve.column_names == {"record_id": "id", "email": "Mail"}
    assert load_config(CONF, "local").resolve.input.table == "customer_records"  # the shipped default is untouched
    with pytest.raises(ConfigError, match="--config .*nothere.yaml: file not found"):
        load_config(CONF, "local", [], [tmp_path / "nothere.yaml"])


def test_shipped_blocking_rules_fit_the_mapped_roles() -> None:
    config = load_config(CONF, "local", ["resolve.columns={record_id: id, first_name: f, last_name: l, "
                                         "birth_date: dob, street: s, postcode: z, national_id: n}"])
    names = [rule.name for rule in config.resolve.blocking]
    assert "national_id" in names and "street_postcode" in names and "name_postcode" in names
    assert config.resolve.omitted_blocking == {
        "email": "not mapped: email", "phone": "not mapped: phone", "names_city": "not mapped: city",
        "city_birth_date_initial": "not mapped: city", "email_mailbox": "not mapped: email"}
    # The user's own rules are not fitted: a role they name must be mapped.
    with pytest.raises(ConfigError, match=r"blocking rule mine: field\(s\) \['phone'\] are not mapped"):
        load_config(CONF, "local", ["resolve.columns={record_id: id, email: e}",
                                    "resolve.blocking=[{name: mine, type: exact, fields: [phone]}]"])
    # Nothing left: one sentence names the roles that would give a rule.
    with pytest.raises(ConfigError) as raised:
        load_config(CONF, "local", ["resolve.columns={record_id: id, country: c}"])
    assert raised.value.problems == [
        "resolve.columns: no shipped blocking rule fits the mapped roles; map one of birth_date, city, email, "
        "first_name, last_name, national_id, phone, postcode, street (or give resolve.blocking rules of your own)"]


def test_a_mapped_column_can_carry_its_date_pattern() -> None:
    config = load_config(CONF, "local", [
        "resolve.columns={record_id: id, email: e, birth_date: {column: dob, format: dd.MM.yyyy}}"])
    assert config.resolve.column_names == {"record_id": "id", "email": "e", "birth_date": "dob"}
    assert config.resolve.column_formats == {"birth_date": "dd.MM.yyyy"}
    with pytest.raises(ConfigError, match=r"a format applies to birth_date only, not \['email'\]"):
        load_config(CONF, "local", ["resolve.columns={record_id: id, email: {column: e, format: x}}"])
    with pytest.raises(ConfigError, match=r"resolve.columns.email.colum: unknown key \(did you mean 'column'\?\)"):
        load_config(CONF, "local", ["resolve.columns={record_id: id, email: {colum: e}}"])


# Scalar settings whose code default differs from conf/base.yaml on purpose, and why.
NEUTRAL_IN_CODE = {
    "resolve.input.table": "an input is a table or a path: the code names neither",
    "features.outlier_model": "needs outlier_features, which the code leaves empty",
}


def _scalar_defaults(cls: type, shipped: dict[str, object], prefix: str
                     ) -> typing.Iterator[tuple[str, object, object]]:
    for field in dataclasses.fields(cls):
        if field.name not in shipped:
            continue
        if field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
            if dataclasses.is_dataclass(default) and isinstance(shipped[field.name], dict):
                yield from _scalar_defaults(type(default), shipped[field.name], f"{prefix}{field.name}.")
            continue   # collections: empty in code, the product's tables in base.yaml
        if field.default is not dataclasses.MISSING and not dataclasses.is_dataclass(field.default):
            yield f"{prefix}{field.name}", field.default, shipped[field.name]


def test_every_scalar_default_in_code_is_the_shipped_one() -> None:
    """conf/base.yaml holds the defaults; a setting built in code without it means the same."""
    shipped = yaml.safe_load((CONF / "base.yaml").read_text(encoding="utf-8"))
    sections = typing.get_type_hints(Settings)
    compared, differing = 0, {}
    for section, values in shipped.items():
        cls = sections.get(section)
        if isinstance(values, dict) and dataclasses.is_dataclass(cls):
            for key, in_code, in_yaml in _scalar_defaults(cls, values, f"{section}."):  # type: ignore[arg-type]
                compared += 1
                if in_code != in_yaml and key not in NEUTRAL_IN_CODE:
                    differing[key] = (in_code, in_yaml)
    assert compared > 100 and differing == {}


@pytest.mark.parametrize("root", ["s3a://bucket/custseg", "hdfs://namenode:8020/custseg",
                                  "abfss://data@account.dfs.core.windows.net/custseg", "gs://bucket/custseg"])
def test_deltars_refuses_a_remote_storage_root_in_one_sentence(root: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CONF, "local", [f"storage.root={root}", "storage.delta_engine=deltars"])
    (problem,) = caught.value.problems
    assert problem.startswith(f"storage: storage.delta_engine deltars keeps tables on the local disk only, "
                              f"not under storage.root {root}: use storage.delta_engine native")
    assert load_config(CONF, "local", [f"storage.root={root}", "storage.delta_engine=native"]).root_dir == root
    assert load_config(CONF, "local", [f"storage.root={root}"]).storage.delta_engine == "auto"  # decided at run time


@pytest.mark.parametrize("root", ["somewhere/data", "/tmp/custseg", "file:///tmp/custseg"])
def test_deltars_takes_a_local_storage_root(root: str) -> None:
    assert load_config(CONF, "local", [f"storage.root={root}", "storage.delta_engine=deltars"]).storage.root == root


def test_the_columns_config_checks_against_are_the_catalogs() -> None:
    config = load_config(CONF, "local")
    expected = {spec.name: [c.name for c in spec.columns] for spec in Catalog(config).specs()}
    assert declared_columns(config.sources) == expected
    assert declared_columns(config.sources)["crm_customers"][-3:] == ["source_file", "source_line", "ingest_run_id"]
