"""Propensity model fitting: the grid search, scores and importances on a tiny frame."""

from __future__ import annotations

import dataclasses

import pytest
from pyspark.sql import SparkSession

from custseg.act.models import fit, score
from custseg.config.model import PropensitySettings


def test_fit_tunes_over_the_grid_and_scores_probabilities(spark: SparkSession) -> None:
    # The label follows recency; frequency is noise; a third of the recencies are missing.
    rows = [(float(i % 50) if i % 3 else None, float(i % 7), i % 2, 1.0 if i % 50 >= 25 else 0.0) for i in range(200)]
    frame = spark.createDataFrame(rows, "recency_days double, frequency double, segment_id int, label double")
    settings = dataclasses.replace(PropensitySettings(), features=["recency_days", "frequency"],
                                   grid={"maxIter": [3.0], "maxDepth": [1.0, 2.0]})
    fitted = fit(frame, settings, with_segment=True)
    assert fitted.best_params["maxDepth"] in (1.0, 2.0) and fitted.validation_auc is not None
    assert set(fitted.importances) == {"recency_days", "frequency", "segment_id"}
    assert fitted.importances["recency_days"] > fitted.importances["frequency"]
    scored = score(fitted.model, frame, settings.features)
    assert scored.columns == [*frame.columns, "score"]
    known = scored.filter("recency_days is not null")
    high = known.filter("recency_days >= 25").agg({"score": "avg"}).first()[0]
    low = known.filter("recency_days < 25").agg({"score": "avg"}).first()[0]
    assert high > 0.6 > 0.4 > low  # three boosting rounds at step 0.1 stay near 0.5


def test_a_one_point_grid_fits_once_without_tuning(spark: SparkSession) -> None:
    rows = [(float(i), 1.0 if i >= 10 else 0.0) for i in range(20)]
    frame = spark.createDataFrame(rows, "recency_days double, label double")
    settings = dataclasses.replace(PropensitySettings(), features=["recency_days"],
                                   grid={"maxIter": [2.0], "maxDepth": [1.0]})
    fitted = fit(frame, settings, with_segment=False)
    assert fitted.validation_auc is None and fitted.best_params == {"maxIter": 2.0, "maxDepth": 1.0}
    with pytest.raises(Exception, match="segment_id"):
        fit(frame, settings, with_segment=True)  # the global model needs the segment column
