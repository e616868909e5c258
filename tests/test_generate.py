"""The sample generator: deterministic, realistic in shape, and consistent across sources."""

from __future__ import annotations

import dataclasses
import filecmp
from pathlib import Path

import phonenumbers
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.config import Config
from custseg.generate import archetypes, build_sample, publish_raw_files, stage_raw_files


def _settings(config: Config, customers: int, seed: int = 7):  # type: ignore[no-untyped-def]
    return dataclasses.replace(config.generate, customers=customers, seed=seed)


def _same(left: DataFrame, right: DataFrame) -> bool:
    return left.exceptAll(right).isEmpty() and right.exceptAll(left).isEmpty()


@pytest.fixture(scope="module")
def sample(spark: SparkSession, base_config: Config):  # type: ignore[no-untyped-def]
    data = build_sample(spark, _settings(base_config, 2000), base_config.clean.currency_rates)
    yield data
    data.unpersist()


def test_another_seed_gives_other_people(spark: SparkSession, base_config: Config) -> None:
    from custseg.generate.persons import generate_persons

    first = generate_persons(spark, _settings(base_config, 200)).select("first_name", "last_name", "email")
    other = generate_persons(spark, _settings(base_config, 200, seed=8)).select("first_name", "last_name", "email")
    assert first.exceptAll(other).count() > 190


@pytest.mark.heavy
def test_raw_files_are_byte_identical_for_one_seed(spark: SparkSession, base_config: Config, tmp_path: Path) -> None:
    rates = base_config.clean.currency_rates
    outputs = []
    for attempt in ("a", "b"):
        data = build_sample(spark, _settings(base_config, 120), rates)
        stage_raw_files(data, str(tmp_path / f"stage-{attempt}"), _settings(base_config, 120))
        outputs.append(publish_raw_files(spark, str(tmp_path / f"stage-{attempt}"), str(tmp_path / f"raw-{attempt}")))
        data.unpersist()
    for source in outputs[0]:
        first, second = Path(outputs[0][source]), Path(outputs[1][source])
        assert len(list(first.iterdir())) == len(list(second.iterdir())) > 0, source
        first_bytes = sorted(p.read_bytes() for p in first.iterdir())
        second_bytes = sorted(p.read_bytes() for p in second.iterdir())
        if source != "products":  # Parquet footers embed the writer's metadata; compare rows below
            assert first_bytes == second_bytes, source
    assert _same(spark.read.parquet(outputs[0]["products"]), spark.read.parquet(outputs[1]["products"]))
    assert not filecmp.dircmp(tmp_path / "raw-a", tmp_path / "raw-b").left_only


def test_everyone_has_a_record_and_identifiers_are_unique(sample) -> None:  # type: ignore[no-untyped-def]
    persons = sample.persons
    assert persons.count() == 2000
    with_records = sample.crm.select("person_id").union(sample.web.select("person_id")).distinct().count()
    assert with_records == 2000
    assert sample.crm.select("crm_id").distinct().count() == sample.crm.count()
    assert sample.web.select("account_id").distinct().count() == sample.web.count()
    assert persons.select("email").distinct().count() == 2000
    assert persons.select("phone_e164").distinct().count() == 2000


def test_every_phone_is_a_valid_number(sample) -> None:  # type: ignore[no-untyped-def]
    phones = [row.phone_e164 for row in sample.persons.select("phone_e164").collect()]  # 2000 rows
    invalid = [p for p in phones if not phonenumbers.is_valid_number(phonenumbers.parse(p))]
    assert invalid == []


def test_duplicates_and_noise_follow_the_settings(sample, base_config: Config) -> None:  # type: ignore[no-untyped-def]
    rate = base_config.generate.duplicate_person_rate
    with_crm = sample.persons.filter("crm_records > 0")
    duplicated = with_crm.filter("crm_records > 1").count() / with_crm.count()
    assert abs(duplicated - rate) < 0.04
    kinds = sample.crm.select(F.explode("noise").alias("kind"))
    noise = {r.kind: r["count"] for r in kinds.groupBy("kind").count().collect()}
    for kind in ("typo_first_name", "typo_last_name", "nickname", "swapped_names", "email_variant", "moved"):
        assert noise.get(kind, 0) > 10, kind
    # A person's first CRM record is nearly clean, later ones are not.
    first_noisy = sample.crm.join(sample.persons.select("person_id"), "person_id").filter(F.size("noise") > 2).count()
    assert first_noisy < sample.crm.count() * 0.35


def test_archetype_mix_matches_weights(sample) -> None:  # type: ignore[no-untyped-def]
    counts = {r.archetype: r["count"] for r in sample.persons.groupBy("archetype").count().collect()}
    weights = archetypes.weights({})
    total = sum(weights.values())
    for name, weight in weights.items():
        assert abs(counts[name] / 2000 - weight / total) < 0.035, name


def test_orders_lines_and_events_reference_existing_records(sample) -> None:  # type: ignore[no-untyped-def]
    record_ids = (sample.crm.select(F.col("crm_id").alias("ref"))
                  .union(sample.web.select(F.col("account_id").alias("ref"))))
    assert sample.orders.join(record_ids, sample.orders.customer_ref == record_ids.ref, "left_anti").isEmpty()
    assert sample.order_lines.join(sample.products, "product_id", "left_anti").isEmpty()
    assert sample.order_lines.join(sample.orders, "order_id", "left_anti").isEmpty()
    accounts = sample.web.select(F.col("account_id"))
    assert sample.events.filter("account_id is not null").join(accounts, "account_id", "left_anti").isEmpty()
    online = (sample.orders.filter("channel = 'online'")
              .join(accounts, sample.orders.customer_ref == accounts.account_id, "left_anti"))
    assert online.isEmpty()


def test_archetypes_behave_differently(sample) -> None:  # type: ignore[no-untyped-def]
    orders = sample.orders.groupBy("archetype").agg(F.count(F.lit(1)).alias("orders"))
    people = sample.persons.groupBy("archetype").count()
    per_person = {r.archetype: r.orders / r["count"] for r in orders.join(people, "archetype").collect()}
    assert per_person["champion"] > 3 * per_person["loyal_regular"] / 2
    assert "window_shopper" not in per_person and 1 <= per_person["new_customer"] <= 2  # browsers never buy
    sessions = {r.archetype: r.sessions for r in sample.events.filter("event_type = 'session_start'")
                .join(sample.web.select("account_id", "person_id"), "account_id")
                .join(sample.persons.select("person_id", "archetype"), "person_id")
                .groupBy("archetype").agg(F.count(F.lit(1)).alias("sessions")).collect()}
    assert "churned" not in sessions  # churned persons have no recent web activity
    assert sessions["window_shopper"] > sessions["big_spender_at_risk"]


def test_web_accounts_follow_the_archetype(sample, base_config: Config) -> None:  # type: ignore[no-untyped-def]
    shares = {r.archetype: r.share for r in sample.persons.groupBy("archetype")
              .agg(F.avg((F.col("web_accounts") > 0).cast("double")).alias("share")).collect()}
    assert shares["window_shopper"] == 1.0  # browsing is what they do
    assert shares["champion"] > 0.85 and shares["churned"] < 0.5 and shares["loyal_regular"] < 0.3
    overall = sample.persons.filter("web_accounts > 0").count() / 2000
    assert abs(overall - base_config.generate.web_account_rate) < 0.035


@pytest.mark.parametrize("rate", [0.3, 0.65, 0.9])
def test_web_account_shares_keep_the_overall_rate_and_the_order(rate: float) -> None:
    mix = archetypes.weights({})
    shares = archetypes.web_account_shares(rate, mix)
    assert sum(mix[a] * shares[a] for a in mix) / sum(mix.values()) == pytest.approx(rate, abs=1e-9)
    assert shares["window_shopper"] == 1.0
    assert shares["bargain_hunter"] > shares["new_customer"] > shares["churned"] > shares["loyal_regular"] > 0.0


def test_web_account_shares_at_the_ends_are_all_or_nothing() -> None:
    mix = archetypes.weights({})
    assert set(archetypes.web_account_shares(0.0, mix).values()) == {0.0}
    assert set(archetypes.web_account_shares(1.0, mix).values()) == {1.0}


def test_record_plans_stay_small(sample) -> None:  # type: ignore[no-untyped-def]
    """Noise that reads a noisy value several times must read it as a column: inlined, the CRM
    names alone grew to 600,000 characters of plan, which Spark analysed at every step."""
    for frame in (sample.crm, sample.web):
        assert len(frame._jdf.queryExecution().analyzed().toString()) < 200_000
