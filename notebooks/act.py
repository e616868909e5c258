# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: custseg
#     language: python
#     name: custseg
# ---

# %% [markdown]
# # Propensity models and recommendations
# What `custseg propensity` and `custseg recommend` wrote: each target's models per segment against
# the recency baseline (ROC-AUC, PR-AUC, top-decile lift and capture), the chosen models' reliability,
# feature importances, the scores by decile, the recommender's offline evaluation against popularity,
# and what it recommends to each segment.

# %% tags=["parameters"]
ENV = None  # configuration overlay; None: $CUSTSEG_ENV, else local
STORAGE_ROOT = None  # None: $CUSTSEG_STORAGE_ROOT, else storage.root (what `make run` wrote)
SETTINGS: list[str] = []  # --set style overrides
PROPENSITY_RUN = None  # run id in model_metrics; None: the latest succeeded run
RECOMMEND_RUN = None  # run id in recommendation_eval; None: the latest succeeded run
TOP_CATEGORIES = 5  # categories listed per segment

# %%
import matplotlib.pyplot as plt
from pyspark.sql import functions as F

from custseg.explore import act, annotated_heatmap, grouped_bars, open_tables, reliability_curve

tables = open_tables(ENV, STORAGE_ROOT, SETTINGS)
propensity_run = PROPENSITY_RUN or tables.latest_run("propensity")
recommend_run = RECOMMEND_RUN or tables.latest_run("recommend")
# Segments are named only for the segmentation run each job used: a later one gives its ids to other segments.
profiles = tables.read("segment_profiles")
labels = act.segment_labels(profiles, tables.segmentation_run_of(propensity_run))
recommend_labels = act.segment_labels(profiles, tables.segmentation_run_of(recommend_run))
metrics = act.filter_run(tables.read("model_metrics"), propensity_run)
models = act.model_comparison(metrics, labels).orderBy("target", "segment_id", "model").toPandas()  # a few dozen
print("propensity run", metrics.select("run_id").first()["run_id"])
print(models[models["segment_id"].isna()].drop(columns=["segment_id", "chosen_from"]).to_string(index=False))

# %% [markdown]
# ## ROC-AUC and PR-AUC per segment: its own model, the global one, the one it chose, recency alone
# A segment whose test rows hold one class has no AUC (a gap).

# %%
MODELS = ["segment", "global", "chosen", "recency_baseline"]
COLOURS = {"segment": "#90caf9", "global": "#1565c0", "chosen": "#2e7d32", "recency_baseline": "#9e9e9e"}
targets = sorted(models["target"].unique())
fig, axes = plt.subplots(len(targets), 2, figsize=(14, 4.2 * len(targets)), squeeze=False)
for row, target in enumerate(targets):
    for col, measure in enumerate(["roc_auc", "pr_auc"]):
        grouped_bars(axes[row][col], models[models["target"] == target], "segment", "model", measure,
                     f"{target}: {measure}", MODELS, COLOURS)
fig.tight_layout()
plt.show()
chosen = models[(models["model"] == "chosen") & models["segment_id"].notna()]
print(chosen[["target", "segment", "chosen_from", "reason"]].to_string(index=False))

# %% [markdown]
# ## The chosen models: reliability, and the top decile's lift and capture against the baseline

# %%
curves = act.reliability(metrics).toPandas()  # at most ten bins per target
overall = models[models["segment_id"].isna()]
fig, axes = plt.subplots(1, 3, figsize=(16, 4.5), width_ratios=[1.3, 1, 1])
for target in targets:
    reliability_curve(axes[0], curves[curves["target"] == target], target)
axes[0].legend()
axes[0].set_title("Reliability of the chosen models (all customers)")
for ax, measure in zip(axes[1:], ["top_decile_lift", "top_decile_capture"], strict=True):
    grouped_bars(ax, overall, "target", "model", measure, f"{measure} (all customers)",
                 ["global", "chosen", "recency_baseline"], COLOURS)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Feature importances of the global model and of each segment's own model (* = chosen)

# %%
importances = act.feature_importances(metrics, labels).toPandas()  # models x features
importances["model and segment"] = importances["segment"].where(importances["model"] == "segment", "global model")
importances["model and segment"] += importances["chosen"].map({True: " *", False: ""})
fig, axes = plt.subplots(1, len(targets), figsize=(8 * len(targets), 6), squeeze=False)
for ax, target in zip(axes[0], targets, strict=True):
    grid = importances[importances["target"] == target].pivot(index="feature", columns="model and segment",
                                                              values="importance")
    annotated_heatmap(ax, grid.loc[grid.mean(axis=1).sort_values(ascending=False).index],
                      f"{target}: feature importance")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Scores by decile (1 = the highest tenth) and their distribution

# %%
scores = tables.read("propensity_scores")
deciles = act.score_deciles(scores).orderBy("target", "decile").toPandas()  # at most ten rows per target
histogram = act.score_histogram(scores).orderBy("target", "bin").toPandas()  # at most 20 bins per target
fig, axes = plt.subplots(2, len(targets), figsize=(7 * len(targets), 7), squeeze=False)
for col, target in enumerate(targets):
    mine = deciles[deciles["target"] == target]
    top, bottom = axes[0][col], axes[1][col]
    top.bar(mine["decile"], mine["customers"], color="#90caf9")
    top.set_xlabel("decile")
    top.set_ylabel("customers")
    mean = top.twinx()
    mean.plot(mine["decile"], mine["mean_score"], marker="o", color="#c62828")
    mean.set_ylabel("mean score", color="#c62828")
    top.set_title(f"{target}: customers and mean score per decile")
    bins = histogram[histogram["target"] == target]
    bottom.bar(bins["lower"], bins["customers"], width=0.05, align="edge", color="#1565c0")
    bottom.set_xlabel("score")
    bottom.set_title(f"{target}: customers per score bin")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Recommendations offline: the hybrid against popularity on the holdout, overall and per segment

# %%
evaluation = act.recommendation_evaluation(
    act.filter_run(tables.read("recommendation_eval"), recommend_run), recommend_labels)
evaluation = evaluation.orderBy(F.col("segment_id").isNotNull(), "segment_id", "method").toPandas()  # segments x 2
k = int(evaluation["k"].iloc[0])
print(f"holdout from {evaluation['holdout_start'].iloc[0]}, k = {k}")
print(evaluation[evaluation["segment_id"].isna()].drop(columns=["segment_id", "k", "holdout_start"])
      .to_string(index=False))
fig, axes = plt.subplots(2, 2, figsize=(14, 8))
for ax, measure in zip(axes.flat, ["precision_at_k", "recall_at_k", "ndcg_at_k", "coverage"], strict=True):
    grouped_bars(ax, evaluation, "segment", "method", measure, measure.replace("_at_k", f"@{k}"),
                 ["hybrid", "popularity"], {"hybrid": "#2e7d32", "popularity": "#9e9e9e"})
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What is recommended: categories per segment, and the share from ALS against category affinity

# %%
recommendations = tables.read("recommendations")
categories = act.recommended_categories(recommendations, recommend_labels).toPandas()  # segments x categories
sources = act.recommendation_sources(recommendations, recommend_labels).toPandas()  # segments x 2
shares = categories.pivot(index="segment", columns="category", values="share")
by_source = sources.pivot(index="segment", columns="source", values="share").fillna(0.0)
fig, (left, right) = plt.subplots(1, 2, figsize=(16, 0.5 * len(shares) + 3), width_ratios=[3, 1])
image = annotated_heatmap(left, shares, "Share of each segment's recommendations per category", fmt="{:.0%}")
fig.colorbar(image, ax=left)
by_source.plot.barh(stacked=True, ax=right, color={"als": "#1565c0", "category_affinity": "#ffb300"})
right.invert_yaxis()  # the heatmap's order, first segment on top
right.set(xlim=(0, 1), ylabel="")
right.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncols=2)
right.set_title("Share by source")
fig.tight_layout()
plt.show()
top = categories[categories["category_rank"] <= TOP_CATEGORIES].sort_values(["segment", "category_rank"])
print(top.groupby("segment")["category"].agg(", ".join).to_string())
