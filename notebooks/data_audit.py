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
# # Data audit
# What the audit found in the tables `make run` wrote: missing values per table and column, the
# rows ingest rejected and why, the distribution of each numeric column, and how a table changed
# between two of its versions. Every table is read through `custseg.explore`, at any version.

# %% tags=["parameters"]
ENV = None  # configuration overlay; None: $CUSTSEG_ENV, else local
STORAGE_ROOT = None  # None: $CUSTSEG_STORAGE_ROOT, else storage.root (what `make run` wrote)
SETTINGS: list[str] = []  # --set style overrides, e.g. ["spark.driver_memory=2g"]
TABLE = "customer_features"  # the table whose distributions and drift are shown
FROM_VERSION = None  # drift: earlier version of TABLE; None: the one before the latest
TO_VERSION = None  # drift: later version; None: the latest

# %%
import matplotlib.pyplot as plt
import numpy as np
from pyspark.sql import functions as F

from custseg.audit import profile_columns
from custseg.explore import open_tables

tables = open_tables(ENV, STORAGE_ROOT, SETTINGS)
audit_run = tables.latest_run("audit")
audit = tables.read("data_audit").filter(F.col("run_id") == audit_run)
print(f"audit run {audit_run}; storage root {tables.config.root_dir}")

# %% [markdown]
# ## Missing values: share of nulls per table and column

# %%
nulls = (audit.filter(F.col("column_name") != "*").select("table_name", "column_name", "null_share")
         .toPandas())  # one row per audited column
grid = nulls.pivot(index="column_name", columns="table_name", values="null_share")
grid = grid[(grid.fillna(0) > 0).any(axis=1)]
fig, ax = plt.subplots(figsize=(10, max(3, 0.28 * len(grid))))
image = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap="Reds", vmin=0, vmax=max(grid.max().max(), 0.01))
ax.set_xticks(range(len(grid.columns)), grid.columns, rotation=45, ha="right")
ax.set_yticks(range(len(grid.index)), grid.index)
fig.colorbar(image, ax=ax, label="null share")
ax.set_title("Columns with missing values (blank: column not in that table)")
plt.show()

# %% [markdown]
# ## Rejected rows by source and reason (latest ingest run)

# %%
ingest_run = tables.latest_run("ingest")
rejects = (tables.read("rejects").filter(F.col("run_id") == ingest_run).groupBy("source", "reason").count()
           .orderBy(F.col("count").desc()).limit(20).toPandas())
accounting = tables.read("ingest_accounting").filter(F.col("run_id") == ingest_run).toPandas()
print(accounting[["source", "rows_read", "rows_accepted", "rows_rejected", "reject_rate"]].to_string(index=False))
fig, ax = plt.subplots(figsize=(10, max(2.5, 0.35 * len(rejects))))
ax.barh([f"{s}: {r[:60]}" for s, r in zip(rejects["source"], rejects["reason"], strict=True)], rejects["count"])
ax.invert_yaxis()
ax.set_xlabel("rows rejected")
ax.set_title("Rejects by reason")
plt.show()

# %% [markdown]
# ## Distributions of the numeric columns of `TABLE` (the audit's histograms)

# %%
histograms = (audit.filter((F.col("table_name") == TABLE) & (F.size("histogram") > 0))
              .select("column_name", "histogram").collect())  # one row per numeric column
cols = 4
rows = max(1, int(np.ceil(len(histograms) / cols)))
fig, axes = plt.subplots(rows, cols, figsize=(14, 2.6 * rows), squeeze=False)
for ax, row in zip(axes.flat, histograms, strict=False):
    lowers = [b["lower"] for b in row["histogram"]]
    widths = [b["upper"] - b["lower"] for b in row["histogram"]]
    ax.bar(lowers, [b["count"] for b in row["histogram"]], width=widths, align="edge")
    ax.set_title(row["column_name"], fontsize=10)
for ax in list(axes.flat)[len(histograms):]:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Drift of `TABLE` between two versions
# Each version is profiled the way the audit profiles a table (null share, mean), read by time travel.

# %%
latest = tables.version(TABLE)
to_version = latest if TO_VERSION is None else TO_VERSION
from_version = max(to_version - 1, 0) if FROM_VERSION is None else FROM_VERSION
if from_version == to_version:
    print(f"{TABLE} has one version ({to_version}): both bars show it")
profiles = {v: {p.name: p for p in profile_columns(tables.read(TABLE, v), tables.config.quality)[1]}
            for v in (from_version, to_version)}
numeric = [n for n, p in profiles[to_version].items() if p.mean is not None and n in profiles[from_version]]
fig, (left, right) = plt.subplots(1, 2, figsize=(14, max(3, 0.3 * len(numeric))))
positions = np.arange(len(numeric))
for offset, version in ((-0.2, from_version), (0.2, to_version)):
    left.barh(positions + offset, [profiles[version][n].nulls for n in numeric], height=0.4, label=f"v{version}")
shift = [(profiles[to_version][n].mean - profiles[from_version][n].mean) / (profiles[from_version][n].stddev or 1.0)
         for n in numeric]
right.barh(positions, shift, color=["#c62828" if abs(s) > 0.1 else "#1565c0" for s in shift])
for ax, title in ((left, "null values"), (right, "change of the mean, in standard deviations")):
    ax.set_yticks(positions, numeric)
    ax.set_title(f"{TABLE} v{from_version} -> v{to_version}: {title}")
left.legend()
fig.tight_layout()
plt.show()
