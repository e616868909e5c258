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
# # Real-time activations
# The decisions `custseg stream` wrote to `activations`: how many over event time, activated or
# suppressed and why, through which channels and campaigns, how the real-time segments meet the
# batch segments, and the cart values behind each real-time segment.

# %% tags=["parameters"]
ENV = None  # configuration overlay; None: $CUSTSEG_ENV, else local
STORAGE_ROOT = None  # None: $CUSTSEG_STORAGE_ROOT, else storage.root (what `make run` wrote)
SETTINGS: list[str] = []  # --set style overrides
VERSION = None  # version of activations; None: the latest
BUCKET_MINUTES = None  # event-time bucket; None: about 40 buckets over the span

# %%
import matplotlib.pyplot as plt
import pandas as pd
from pyspark.sql import functions as F

from custseg.explore import activations, annotated_heatmap, open_tables, quantile_boxes

tables = open_tables(ENV, STORAGE_ROOT, SETTINGS)
decisions = tables.read("activations", VERSION)
span = decisions.agg(F.count(F.lit(1)).alias("decisions"), F.count_if(F.col("status") == "activated")
                     .alias("activated"), F.min("event_time").alias("first"), F.max("event_time").alias("last"),
                     F.countDistinct("customer_id").alias("customers")).first()
print(f"{span['decisions']:,} decisions, {span['activated']:,} activated, {span['customers']:,} customers, "
      f"event time {span['first']} to {span['last']}")

# %% [markdown]
# ## Decisions over event time (the last cart activity), activated and suppressed

# %%
minutes = BUCKET_MINUTES or activations.bucket_minutes(decisions)
timeline = activations.over_event_time(decisions, minutes).toPandas()  # at most ~40 buckets x 2 statuses
counts = timeline.pivot(index="bucket_start", columns="status", values="decisions").sort_index()
counts = counts.reindex(pd.date_range(counts.index.min(), counts.index.max(), freq=f"{minutes}min")).fillna(0)
fig, ax = plt.subplots(figsize=(12, 4))
counts.plot.area(ax=ax, stacked=True, color={"activated": "#2e7d32", "suppressed": "#9e9e9e"}, alpha=0.8)
ax.set_xlabel("event time (UTC)")
ax.set_ylabel(f"decisions per {minutes} min")
ax.set_title("Abandoned carts decided over event time")
plt.show()

# %% [markdown]
# ## Status and suppression reasons; channels and campaigns

# %%
reasons = activations.decisions_by_reason(decisions).toPandas()  # reasons x statuses x suppressions
reasons["outcome"] = reasons["suppression"].fillna("activated")
outcomes = reasons.groupby("outcome")["decisions"].sum().sort_values()
routes = activations.channels_and_campaigns(decisions).toPandas()  # channels x campaigns x statuses
routes["route"] = routes["channel"] + " / " + routes["campaign"]
by_route = routes.pivot_table(index="route", columns="status", values="decisions", aggfunc="sum", fill_value=0)
fig, (left, right) = plt.subplots(1, 2, figsize=(14, 0.4 * max(len(outcomes), len(by_route)) + 3))
left.barh(outcomes.index, outcomes.to_numpy(), color=["#2e7d32" if o == "activated" else "#9e9e9e"
                                                      for o in outcomes.index])
left.set_title("Decisions: activated, or suppressed and why")
by_route.plot.barh(stacked=True, ax=right, color={"activated": "#2e7d32", "suppressed": "#9e9e9e"})
right.set(title="Decisions per channel / campaign", ylabel="")
fig.tight_layout()
plt.show()
print(reasons.drop(columns="outcome").sort_values("decisions", ascending=False).to_string(index=False))

# %% [markdown]
# ## Real-time segment against batch segment, and cart value per real-time segment

# %%
crosstab = activations.segment_crosstab(decisions).toPandas()  # real-time x batch segments
grid = crosstab.pivot(index="realtime_segment", columns="batch_segment", values="decisions")
carts = activations.cart_value_summary(decisions).orderBy("realtime_segment").toPandas()  # one row per segment
fig, (left, right) = plt.subplots(1, 2, figsize=(15, 0.6 * len(grid) + 4), width_ratios=[2, 1])
image = annotated_heatmap(left, grid, "Decisions: real-time segment (rows) by batch segment", fmt="{:,.0f}")
fig.colorbar(image, ax=left, label="decisions")
quantile_boxes(right, carts, "realtime_segment", activations.QUANTILES,
               "Cart value: quartiles, 5-95% whiskers, mean (triangle)")
right.tick_params(axis="x", rotation=20)
fig.tight_layout()
plt.show()
print(carts[["realtime_segment", "decisions", "mean"]].to_string(index=False))
