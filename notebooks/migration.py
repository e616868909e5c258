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
# # Segment migration
# Who moved where between two versions of `customer_segments` (read by time travel), with ids
# followed through merges (`customer_id_map`): the transition matrix and a flow (Sankey) chart.
# `custseg segments diff --from V --to W` prints the same matrix and records it.

# %% tags=["parameters"]
ENV = None  # configuration overlay; None: $CUSTSEG_ENV, else local
STORAGE_ROOT = None  # None: $CUSTSEG_STORAGE_ROOT, else storage.root (what `make run` wrote)
SETTINGS: list[str] = []  # --set style overrides
FROM_VERSION = None  # earlier version of customer_segments; None: the one before TO_VERSION
TO_VERSION = None  # later version; None: the latest

# %%
import matplotlib.pyplot as plt
import numpy as np

from custseg.explore import open_tables, sankey, transition

tables = open_tables(ENV, STORAGE_ROOT, SETTINGS)
for entry in tables.history("customer_segments"):
    print(f"v{entry.version}  {entry.timestamp:%Y-%m-%d %H:%M}  {entry.job or '':<8} {entry.run_id or ''}")
to_version = tables.version("customer_segments") if TO_VERSION is None else TO_VERSION
from_version = max(to_version - 1, 0) if FROM_VERSION is None else FROM_VERSION
if from_version == to_version:
    print(f"customer_segments has one version ({to_version}): it is compared with itself")
moves = transition(tables, from_version, to_version)
moved = int(moves.loc[moves["from_name"] != moves["to_name"], "customers"].sum())
total = int(moves["customers"].sum())
print(f"v{from_version} -> v{to_version}: {moved:,} of {total:,} customers moved, arrived or left")

# %% [markdown]
# ## Transition matrix: share of each earlier segment's customers in each later segment

# %%
matrix = moves.pivot(index="from_name", columns="to_name", values="share_of_from").fillna(0.0)
counts = moves.pivot(index="from_name", columns="to_name", values="customers").fillna(0).astype(int)
fig, ax = plt.subplots(figsize=(1.3 * len(matrix.columns) + 4, 0.6 * len(matrix.index) + 2))
image = ax.imshow(matrix.to_numpy(), cmap="Blues", vmin=0, vmax=1)
ax.set_xticks(range(len(matrix.columns)), matrix.columns, rotation=40, ha="right")
ax.set_yticks(range(len(matrix.index)), matrix.index)
for (row, col), value in np.ndenumerate(counts.to_numpy()):
    if value:
        ax.text(col, row, f"{value:,}", ha="center", va="center", fontsize=8,
                color="white" if matrix.to_numpy()[row, col] > 0.6 else "black")
ax.set_xlabel(f"segment in v{to_version}")
ax.set_ylabel(f"segment in v{from_version}")
fig.colorbar(image, ax=ax, label="share of the earlier segment")
plt.show()

# %% [markdown]
# ## Flows between the two versions

# %%
fig, ax = plt.subplots(figsize=(11, 6))
sankey(ax, list(zip(moves["from_name"], moves["to_name"], moves["customers"], strict=True)),
       f"customer_segments v{from_version} (left) -> v{to_version} (right)")
plt.show()
