"""Gold tables of the act stage: propensity metrics and scores, recommendations and their evaluation."""

from custseg.tables.spec import TableSpec, columns

MODEL_METRICS = TableSpec(
    name="model_metrics", layer="gold", mode="append",
    description="Every propensity model and baseline evaluated on the test origin, per segment and overall.",
    columns=columns(
        ("run_id", "string", "propensity run", False),
        ("target", "string", "churn or purchase", False),
        ("segment_id", "int", "Segment evaluated; null for all customers"),
        ("model", "string",
         "segment (its own model), global (segment as a feature), chosen (overall) or recency_baseline", False),
        ("model_version", "string", "Saved model: <run id>/<target>/<global | segment-N>; null for baselines"),
        ("chosen", "boolean", "The model this segment's scores come from", False),
        ("reason", "string", "Why it was chosen, or why the segment fell back to the global model", False),
        ("algorithm", "string", "gbt or random_forest", False),
        ("test_as_of_date", "date", "As-of date of the test rows (the latest rolling origin)", False),
        ("train_rows", "bigint", "Training rows (earlier origins) of the model", False),
        ("train_positives", "bigint", "Positive training rows", False),
        ("rows", "bigint", "Test rows", False),
        ("positives", "bigint", "Positive test rows", False),
        ("roc_auc", "double", "Area under the ROC curve; null with one class"),
        ("pr_auc", "double", "Area under the precision-recall curve; null with one class"),
        ("top_decile_lift", "double", "Positive rate in the top 10% of scores / base rate"),
        ("top_decile_capture", "double", "Share of all positives in the top 10% of scores"),
        ("brier", "double", "Mean squared error of the probability; null for baselines"),
        ("reliability", "array<struct<bin:int,mean_score:double,observed_rate:double,rows:bigint>>",
         "Reliability curve: per score bin of width 0.1, mean predicted and observed positive rate", False),
        ("feature_importances", "map<string,double>", "Tree feature importances (segment one-hot slots summed)"),
        ("best_params", "map<string,double>", "Grid point TrainValidationSplit chose"),
        ("validation_auc", "double", "ROC-AUC of that grid point on the validation split"),
    ),
)

PROPENSITY_SCORES = TableSpec(
    name="propensity_scores", layer="gold",
    description="Latest churn and purchase propensity per customer, from the model its segment chose.",
    primary_key=("customer_id", "target"),
    columns=columns(
        ("customer_id", "string", "Resolved customer", False),
        ("target", "string", "churn or purchase", False),
        ("segment_id", "int", "Segment at the scoring date (from the saved segmentation model)", False),
        ("model_version", "string", "Model that produced the score", False),
        ("score", "double", "Probability of the target in the next horizon_days", False),
        ("decile", "int", "1 = the highest tenth of this target's scores, 10 = the lowest (ties share one)", False),
        ("as_of_date", "date", "Features use only data before this date", False),
        ("run_id", "string", "propensity run whose models scored it (assign rescores with them too)", False),
    ),
)

RECOMMENDATIONS = TableSpec(
    name="recommendations", layer="gold",
    description="Top products per customer from ALS with segment-aware re-ranking, or category affinity when cold.",
    primary_key=("customer_id", "rank"),
    columns=columns(
        ("customer_id", "string", "Resolved customer", False),
        ("segment_id", "int", "Customer's segment"),
        ("rank", "int", "1 = best", False),
        ("product_id", "string", "Recommended product (in stock, not just bought unless replenishable)", False),
        ("category", "string", "Product category", False),
        ("score", "double", "Ranking score in [0, 1]", False),
        ("source", "string", "als (collaborative, re-ranked) or category_affinity (cold start)", False),
        ("run_id", "string", "recommend run", False),
    ),
)

RECOMMENDATION_EVAL = TableSpec(
    name="recommendation_eval", layer="gold", mode="append",
    description="Offline evaluation on a time-based holdout: the hybrid against a popularity baseline.",
    columns=columns(
        ("run_id", "string", "recommend run", False),
        ("method", "string", "hybrid or popularity", False),
        ("segment_id", "int", "Segment; null for all customers"),
        ("customers", "bigint", "Customers with a purchase in the holdout", False),
        ("precision_at_k", "double", "Mean share of the top k bought in the holdout", False),
        ("recall_at_k", "double", "Mean share of the holdout purchases found in the top k", False),
        ("ndcg_at_k", "double", "Mean normalised discounted cumulative gain of the top k", False),
        ("coverage", "double", "Distinct products recommended / products in the catalogue", False),
        ("k", "int", "List length evaluated", False),
        ("holdout_start", "date", "First day of the holdout", False),
    ),
)

TABLES = (MODEL_METRICS, PROPENSITY_SCORES, RECOMMENDATIONS, RECOMMENDATION_EVAL)
