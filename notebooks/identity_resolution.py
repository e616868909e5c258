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
# # Identity resolution
# How `resolve` turned source records into customers: cluster sizes, why pairs matched (each
# field's weight, as a waterfall), the review queue, precision and recall at every threshold where
# ground truth exists (generated data), and what each blocking rule contributed.

# %% tags=["parameters"]
ENV = None  # configuration overlay; None: $CUSTSEG_ENV, else local
STORAGE_ROOT = None  # None: $CUSTSEG_STORAGE_ROOT, else storage.root (what `make run` wrote)
SETTINGS: list[str] = []  # --set style overrides
VERSION = None  # version of match_pairs and identity_crosswalk to read; None: the latest
EXAMPLES = 3  # pairs per decision shown as waterfalls

# %%
import matplotlib.pyplot as plt
from pyspark.sql import functions as F

from custseg.explore import open_tables, threshold_curve, waterfall

tables = open_tables(ENV, STORAGE_ROOT, SETTINGS)
pairs = tables.read("match_pairs", VERSION)
crosswalk = tables.read("identity_crosswalk", VERSION)
resolve_run = tables.latest_run("resolve")
metrics = {r["metric"]: r["value"] for r in tables.read("resolution_metrics").filter(F.col("run_id") == resolve_run)
           .collect()}  # a few dozen figures
print({k: round(v, 4) for k, v in sorted(metrics.items())})

# %% [markdown]
# ## Cluster sizes: customers by the number of source records merged into them

# %%
sizes = (crosswalk.groupBy("customer_id").agg(F.max("cluster_size").alias("records")).groupBy("records").count()
         .orderBy("records").toPandas())
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.bar(sizes["records"].astype(str), sizes["count"])
ax.set_yscale("log")
ax.set_xlabel("records in the customer")
ax.set_ylabel("customers (log scale)")
ax.set_title(f"{int(sizes['count'].sum()):,} customers from {int((sizes['records'] * sizes['count']).sum()):,} records")
plt.show()

# %% [markdown]
# ## Why pairs matched: each field's match weight, from the prior to the pair's total
# Green fields raised the odds that the two records are one person, red ones lowered them.

# %%
examples = []
for decision in ("match", "review", "non_match"):
    examples += pairs.filter(F.col("decision") == decision).orderBy(F.rand(3)).limit(EXAMPLES).collect()
fig, axes = plt.subplots(1, len(examples), figsize=(4.2 * len(examples), 4), squeeze=False)
for ax, pair in zip(axes.flat, examples, strict=True):
    contributions = dict(pair["contributions"])
    prior = pair["match_weight"] - sum(contributions.values())
    waterfall(ax, contributions, prior, f"{pair['decision']}: p={pair['match_probability']:.3f}")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The review queue: pairs in the uncertainty band, for a person to decide

# %%
queue = tables.read("review_queue")
print(f"{queue.count():,} pairs to review")
print(queue.orderBy(F.col("match_probability").desc()).limit(10)
      .select("record_id_l", "record_id_r", "match_probability", "values_l", "values_r").toPandas().to_string())
buckets = (pairs.groupBy(F.floor(F.col("match_probability") * 20).alias("bucket"), "decision").count().toPandas())
fig, ax = plt.subplots(figsize=(8, 3.5))
for decision, group in buckets.groupby("decision"):
    ax.bar(group["bucket"] / 20 + 0.025, group["count"], width=0.045, label=decision, alpha=0.8)
ax.set_yscale("log")
ax.set_xlabel("match probability")
ax.set_ylabel("candidate pairs (log scale)")
ax.legend()
plt.show()

# %% [markdown]
# ## Precision and recall at every threshold (where ground truth exists)

# %%
if tables.exists("truth_records"):
    curve = threshold_curve(tables)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    left.plot(curve["threshold"], curve["precision"], label="precision")
    left.plot(curve["threshold"], curve["recall"], label="recall")
    left.set_xlabel("match probability threshold")
    left.legend()
    left.set_title("Pairwise precision and recall among candidate pairs")
    right.plot(curve["recall"], curve["precision"], marker=".")
    right.set_xlabel("recall")
    right.set_ylabel("precision")
    right.set_title("Precision against recall")
    fig.tight_layout()
    plt.show()
else:
    print("no ground truth (truth_records) under this storage root")

# %% [markdown]
# ## Blocking diagnostics: pairs each rule found first, and the blocks it skipped

# %%
blocking = tables.read("blocking_diagnostics").filter(F.col("run_id") == resolve_run).orderBy("rule").toPandas()
shown = ["rule", "blocks", "estimated_pairs", "new_pairs", "windowed_blocks", "skipped_blocks"]
print(blocking[shown].to_string(index=False))
fig, ax = plt.subplots(figsize=(9, max(2.5, 0.4 * len(blocking))))
ax.barh(blocking["rule"], blocking["estimated_pairs"], label="estimated pairs", color="#90caf9")
ax.barh(blocking["rule"], blocking["new_pairs"], label="pairs found first", color="#1565c0")
ax.set_xscale("symlog")
ax.legend()
ax.set_title("Candidate pairs per blocking rule")
plt.show()
