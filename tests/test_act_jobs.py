"""The propensity and recommend jobs on the shared pipeline's outputs (a copy of them)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import pytest
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg import jobs
from custseg.catalog import Catalog
from custseg.config import Config
from custseg.config.resolved import join_path
from custseg.jobs import consent
from custseg.runtime import JobResult, table_store
from tests.conftest import config_at
from tests.pii_scan import find_in_current_versions


@pytest.fixture(scope="module")
def acted(spark: SparkSession, pipeline: tuple[Config, list[JobResult]],
          tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, JobResult, JobResult]:
    """Both jobs run once on a copy of the pipeline's tables, with a small grid, after a segmented
    customer who had opted in to email withdrew that consent."""
    config, _ = pipeline
    root = tmp_path_factory.mktemp("act") / "root"
    shutil.copytree(config.root_dir, root)
    small_grid = {"maxIter": [8.0], "maxDepth": [3.0]}
    acting = config_at(config, root,
                       propensity=dataclasses.replace(config.propensity, origins=3, grid=small_grid),
                       recommend=dataclasses.replace(config.recommend, max_iter=5, rank=8))
    (propensity,) = jobs.run("propensity", spark, acting)
    consent.run(spark, acting)
    opted_in = _latest_email_consent(spark, acting).filter("status = 'opt_in'")
    withdrawing = (_table(spark, acting, "customer_segments").join(opted_in, "customer_id", "left_semi")
                   .orderBy("customer_id").first())
    consent.record(spark, acting, withdrawing["customer_id"], "email", "opt_out", "preference-centre")
    (recommend,) = jobs.run("recommend", spark, acting)
    return acting, propensity, recommend


def _table(spark: SparkSession, config: Config, name: str) -> DataFrame:
    return table_store(spark, config).read(Catalog(config).path(name))


def _latest_email_consent(spark: SparkSession, config: Config) -> DataFrame:
    """Each customer's latest email consent, from the consent table (a recorded change wins a tie)."""
    return (_table(spark, config, "consent").filter("channel = 'email'").groupBy("customer_id")
            .agg(F.max_by("status", F.struct("recorded_at", F.col("origin").startswith("recorded:"))).alias("status")))


def test_propensity_beats_recency_and_chooses_per_segment(spark: SparkSession, acted: tuple) -> None:
    config, result, _ = acted
    metrics = _table(spark, config, "model_metrics").filter(F.col("run_id") == result.run_id)
    for target in config.propensity.targets:
        rows = metrics.filter(F.col("target") == target)
        overall = {r.model: r for r in rows.filter(F.col("segment_id").isNull()).collect()}
        assert overall["chosen"].roc_auc > overall["recency_baseline"].roc_auc + 0.01, target
        assert overall["chosen"].top_decile_lift > 1.0 and 0.0 < overall["chosen"].brier < 0.25
        assert len(overall["chosen"].reliability) >= 2
        per_segment = rows.filter(F.col("segment_id").isNotNull())
        chosen = per_segment.filter("chosen").collect()
        assert len(chosen) == per_segment.select("segment_id").distinct().count()  # one choice per segment
        for row in chosen:
            if row.model == "segment":
                assert row.train_rows >= config.propensity.min_segment_rows
            assert row.reason
        fallbacks = per_segment.filter(F.col("reason").startswith("fallback")).collect()
        assert all(r.model == "global" and r.chosen for r in fallbacks)
        importances = overall["global"].feature_importances
        assert set(importances) == {*config.propensity.features, "segment_id"}
        assert sum(importances.values()) == pytest.approx(1.0)


def test_propensity_scores_and_saved_models(spark: SparkSession, acted: tuple) -> None:
    config, result, _ = acted
    scores = _table(spark, config, "propensity_scores")
    assert scores.groupBy("customer_id", "target").count().filter("count > 1").count() == 0
    assert scores.filter((F.col("score") < 0) | (F.col("score") > 1)).count() == 0
    by_decile = {r.decile: r.mean for r in scores.filter("target = 'churn'").groupBy("decile")
                 .agg(F.avg("score").alias("mean")).collect()}
    # Tree scores tie, and tied cut points leave a decile empty: most deciles are there, best first,
    # and the highest scores are always in the top decile.
    assert len(by_decile) >= 6 and by_decile[min(by_decile)] > by_decile[max(by_decile)]
    assert min(by_decile) == 1
    buyers = _table(spark, config, "customer_features").filter("frequency > 0").count()
    assert scores.filter("target = 'churn'").count() == pytest.approx(buyers, rel=0.1)
    one = scores.filter("target = 'purchase'").orderBy("customer_id").first()
    model = PipelineModel.load(join_path(config.models_dir, "propensity", one.model_version))
    assert one.model_version.startswith(f"{result.run_id}/purchase/")
    assert model.stages[-1].__class__.__name__ == "GBTClassificationModel"


def test_mlflow_holds_the_run_and_each_model(acted: tuple) -> None:
    import mlflow

    config, result, _ = acted
    mlflow.set_tracking_uri(f"file://{Path(config.root_dir) / 'mlruns'}")
    runs = mlflow.search_runs(experiment_names=[config.propensity.experiment],
                              filter_string=f"tags.mlflow.runName = '{result.run_id}'")
    assert len(runs) == 1 and runs.iloc[0]["params.algorithm"] == "gbt"
    nested = mlflow.search_runs(experiment_names=[config.propensity.experiment],
                                filter_string=f"tags.mlflow.parentRunId = '{runs.iloc[0]['run_id']}'")
    chosen = nested[nested["tags.model"] == "chosen"]
    assert len(chosen) == 2 and (chosen["metrics.roc_auc"] > 0.5).all()
    assert nested["tags.model_version"].dropna().str.startswith(result.run_id).all()


def test_recommendations_respect_stock_and_recent_purchases(spark: SparkSession, acted: tuple) -> None:
    config, _, result = acted
    recs = _table(spark, config, "recommendations")
    per_customer = recs.groupBy("customer_id").agg(F.count(F.lit(1)).alias("n"), F.max("rank").alias("last"))
    assert per_customer.filter(F.col("n") != F.col("last")).count() == 0
    assert per_customer.agg(F.max("n")).first()[0] == config.recommend.top_n
    segmented = _table(spark, config, "customer_segments").select("customer_id")
    consented = segmented.join(_latest_email_consent(spark, config).filter("status = 'opt_in'"), "customer_id",
                               "left_semi")
    recommended = {r["customer_id"] for r in recs.select("customer_id").distinct().collect()}
    assert recommended == {r["customer_id"] for r in consented.collect()}
    withdrawn = _table(spark, config, "consent").filter("origin = 'recorded:preference-centre'").first()
    assert withdrawn["customer_id"] not in recommended and withdrawn["status"] == "opt_out"
    assert int(result.metrics["customers_without_consent"]) == segmented.count() - len(recommended) > 0
    products = _table(spark, config, "products_clean")
    assert products.filter("stock_units = 0").count() > 0
    assert recs.join(products.filter("stock_units = 0"), "product_id", "left_semi").count() == 0
    crosswalk = _table(spark, config, "identity_crosswalk")
    orders = _table(spark, config, "orders_clean")
    buyers = orders.join(crosswalk, (orders.customer_source == crosswalk.source)
                         & (orders.customer_ref == crosswalk.record_id), "inner")
    end = orders.agg(F.max("order_date")).first()[0] + dt.timedelta(days=1)
    since = end - dt.timedelta(days=config.recommend.recent_purchase_days)
    recent = (buyers.filter((F.col("order_date") >= F.lit(since)) & (F.col("status") != "cancelled"))
              .join(_table(spark, config, "order_lines_clean"), "order_id")
              .filter(~F.col("category").isin(config.recommend.replenishable_categories))
              .select("customer_id", "product_id"))
    assert recent.count() > 0
    assert recs.join(recent, ["customer_id", "product_id"], "left_semi").count() == 0
    assert int(result.metrics["customers_with_fallback"]) > 0


def test_hybrid_beats_popularity_on_the_holdout(spark: SparkSession, acted: tuple) -> None:
    config, _, result = acted
    evaluation = _table(spark, config, "recommendation_eval").filter(F.col("run_id") == result.run_id)
    overall = {r.method: r for r in evaluation.filter(F.col("segment_id").isNull()).collect()}
    hybrid, popular = overall["hybrid"], overall["popularity"]
    assert hybrid.customers == popular.customers > 0
    assert hybrid.ndcg_at_k > 1.5 * popular.ndcg_at_k and hybrid.precision_at_k > 1.5 * popular.precision_at_k
    assert hybrid.coverage > popular.coverage
    assert evaluation.filter(F.col("segment_id").isNotNull()).select("segment_id").distinct().count() >= 2


def test_scores_and_recommendations_hold_no_raw_personal_data(spark: SparkSession, acted: tuple,
                                                               tmp_path: Path) -> None:
    """Every table the two jobs wrote is meant for activation: none holds a generated person's
    email, phone, street or name, nor the contact details of a golden record."""
    config, propensity, recommend = acted
    persons = _table(spark, config, "truth_persons").collect()
    values = {v for p in persons for v in (p.email, p.phone_e164, p.street, f"{p.first_name} {p.last_name}") if v}
    values |= {v for m in _table(spark, config, "customer_master").select("email", "phone_e164").collect()
               for v in m if v}
    written = {*propensity.rows_out, *recommend.rows_out}
    assert {"propensity_scores", "recommendations"} <= written
    catalog = Catalog(config)
    for table in [*written, "customer_master"]:
        shutil.copytree(catalog.path(table), tmp_path / "scan" / "act" / table)
    # The scan reads every copied table and knows these values: it finds them in customer_master.
    found = find_in_current_versions(tmp_path / "scan", values)
    assert len(list((tmp_path / "scan").glob("*/*/_delta_log"))) == len(written) + 1
    assert set(found) == {"customer_master"}, found


def test_assign_rescores_the_customers_it_places_with_the_model_their_segment_chose(
        spark: SparkSession, acted: tuple, tmp_path: Path) -> None:
    """Customers whose segment row came from another model are placed again by assign, and their
    scores, planted wrong, come back exactly as the propensity run wrote them; the others keep theirs."""
    from custseg.runtime import run_job

    acted_config, propensity, _ = acted
    shutil.copytree(acted_config.root_dir, tmp_path / "root")
    config = config_at(acted_config, tmp_path / "root")
    written = _table(spark, config, "propensity_scores").localCheckpoint()
    placed = sorted(r.customer_id for r in written.filter("target = 'churn'").select("customer_id")
                    .orderBy(F.xxhash64("customer_id")).limit(25).collect())
    again = F.col("customer_id").isin(placed)
    planted = written.withColumns({"score": F.when(again, F.lit(0.0)).otherwise(F.col("score")),
                                   "segment_id": F.when(again, F.lit(-1)).otherwise(F.col("segment_id")),
                                   "model_version": F.when(again, F.lit("stale")).otherwise(F.col("model_version"))})
    segments = _table(spark, config, "customer_segments").withColumn(
        "model_run_id", F.when(again, F.lit("an-older-run")).otherwise(F.col("model_run_id")))

    def plant(ctx):  # type: ignore[no-untyped-def]
        ctx.read("customer_features")  # the features behind these segments: only the planted rows are placed again
        ctx.write("propensity_scores", planted.localCheckpoint())
        ctx.write("customer_segments", segments.localCheckpoint())

    run_job(spark, config, "assign", plant)
    (assigned,) = jobs.run("assign", spark, config)
    assert assigned.metrics["customers_scored"] == str(len(placed))
    assert assigned.metrics["propensity_run_id"] == propensity.run_id
    refreshed = _table(spark, config, "propensity_scores")
    assert refreshed.count() == written.count()
    key = ["customer_id", "target"]
    compared = written.alias("w").join(refreshed.alias("r"), key).select(
        *key, *[F.col(f"w.{c}").alias(f"w_{c}") for c in ("segment_id", "model_version", "score", "decile", "run_id")],
        *[F.col(f"r.{c}").alias(f"r_{c}") for c in ("segment_id", "model_version", "score", "decile", "run_id")])
    differ = compared.filter((F.col("w_segment_id") != F.col("r_segment_id"))
                             | (F.col("w_model_version") != F.col("r_model_version"))
                             | (F.abs(F.col("w_score") - F.col("r_score")) > 1e-12)
                             | (F.col("w_run_id") != F.col("r_run_id")))
    assert differ.count() == 0 and compared.count() == written.count()
    assert compared.filter(F.col("w_decile") != F.col("r_decile")).count() <= written.count() // 100

    # Scores of a propensity run whose segmentation run is not assign's are left alone, with a warning.
    foreign = refreshed.withColumn("run_id", F.lit("propensity-of-another-segmentation")).localCheckpoint()
    run_job(spark, config, "assign", lambda ctx: ctx.write("propensity_scores", foreign))
    version = table_store(spark, config).version(Catalog(config).path("propensity_scores"))
    (warned,) = jobs.run("assign", spark, config)
    assert "propensity_scores not refreshed" in warned.metrics["warnings"]
    assert table_store(spark, config).version(Catalog(config).path("propensity_scores")) == version


def test_act_notebook_runs_on_the_act_outputs(acted: tuple, pytestconfig: pytest.Config,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests import notebook_check

    config, propensity, recommend = acted
    kernel = notebook_check.kernel(pytestconfig, tmp_path_factory)
    notebook = notebook_check.execute(kernel, notebook_check.NOTEBOOK_DIR / "act.py", config.root_dir)
    printed = notebook_check.outputs_text(notebook)
    assert f"propensity run {propensity.run_id}" in printed and "hybrid all customers" in printed


def _segment_label(segment_id: int | None, names: dict[int, str]) -> str:
    return "all customers" if segment_id is None else f"{segment_id}: {names[segment_id]}"


def test_report_shows_models_and_recommendations_in_chromium(spark: SparkSession, acted: tuple,
                                                             tmp_path: Path) -> None:
    """The report job on the act outputs (it adds its run to job_runs and writes reports/, nothing else)."""
    from tests import browser

    if not browser.available():
        pytest.skip("chromium is missing: run `make chromium`")
    config, propensity, recommend = acted
    result = jobs.run("report", spark, config)[0]
    page = browser.render(Path(result.metrics["report"]), tmp_path / "report.png")
    assert page.errors == [] and page.scroll_width <= 1400 and max(page.table_right_edges) <= 1400
    names = {r.segment_id: r.segment_name for r in _table(spark, config, "segment_profiles").collect()}
    metrics = _table(spark, config, "model_metrics").filter(F.col("run_id") == propensity.run_id)
    for target in config.propensity.targets:
        rows = metrics.filter((F.col("target") == target) & (F.col("chosen") | (F.col("model") == "recency_baseline")))
        expected = {(_segment_label(r.segment_id, names), "recency_baseline" if r.model == "recency_baseline"
                     else "chosen"): r.roc_auc for r in rows.collect() if r.roc_auc is not None}
        drawn = {(m["data"]["row"], m["data"]["col"]): float(m["data"]["value"]) for m in page.marks
                 if m["figure"] == f"roc_auc_{target}"}
        assert drawn == expected and ("all customers", "chosen") in drawn, target
    evaluation = _table(spark, config, "recommendation_eval").filter(F.col("run_id") == recommend.run_id).collect()
    ndcg = {(_segment_label(r.segment_id, names), r.method): r.ndcg_at_k for r in evaluation}
    assert {(m["data"]["row"], m["data"]["col"]): float(m["data"]["value"]) for m in page.marks
            if m["figure"] == "ndcg_per_segment"} == ndcg
    overall = {(m["data"]["row"], m["data"]["col"]): float(m["data"]["value"]) for m in page.marks
               if m["figure"] == "recommendation_eval"}
    hybrid = next(r for r in evaluation if r.segment_id is None and r.method == "hybrid")
    assert overall[(f"precision@{hybrid.k}", "hybrid")] == hybrid.precision_at_k
    assert overall[("coverage", "hybrid")] == hybrid.coverage and len(overall) == 8
    run = _table(spark, config, "job_runs").filter(F.col("run_id") == result.run_id).first()
    assert {"model_metrics", "recommendation_eval"} <= set(run.input_versions)
