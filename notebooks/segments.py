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
# # Segments
# The segmentation run behind `segment_profiles`: how k was chosen, what each segment looks like,
# where its customers sit in the model's space (PCA and t-SNE of a sample), how the segments merge
# into the parent level, the RFM grid, and how stable the segments are under resampling.

# %% tags=["parameters"]
ENV = None  # configuration overlay; None: $CUSTSEG_ENV, else local
STORAGE_ROOT = None  # None: $CUSTSEG_STORAGE_ROOT, else storage.root (what `make run` wrote)
SETTINGS: list[str] = []  # --set style overrides
VERSION = None  # version of customer_segments and segment_profiles; None: the latest
SAMPLE_ROWS = 2000  # customers in the PCA scatter
TSNE_ROWS = 600  # customers in the t-SNE map (its cost grows with the square)

# %%
import matplotlib.pyplot as plt
import numpy as np
from pyspark.sql import functions as F
from scipy.cluster.hierarchy import dendrogram, linkage
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from custseg.explore import model_space_sample, open_tables

tables = open_tables(ENV, STORAGE_ROOT, SETTINGS)
profiles = tables.read("segment_profiles", VERSION).orderBy(F.col("customers").desc()).toPandas()  # one row per segment
run_id = profiles["model_run_id"].iloc[0]
runs = tables.read("segmentation_runs").filter(F.col("run_id") == run_id).orderBy("k").toPandas()
print(profiles[["segment_id", "segment_name", "parent_segment_name", "customers", "share"]].to_string(index=False))

# %% [markdown]
# ## How k was chosen: silhouette (squared Euclidean) and cost per k

# %%
chosen = runs[runs["chosen"]].iloc[0]
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
left.plot(runs["k"], runs["silhouette"], marker="o")
left.scatter([chosen["k"]], [chosen["silhouette"]], s=150, color="#c62828", zorder=3, label=f"chosen k={chosen['k']}")
left.set_title("Silhouette per k")
left.legend()
right.plot(runs["k"], runs["cost"], marker="o")
right.set_title("Cost (within-cluster sum of squares) per k")
for ax in (left, right):
    ax.set_xlabel("k")
plt.show()

# %% [markdown]
# ## Profiles: each segment's mean against the base (log2 of the lift)

# %%
lifts = {(p.segment_name, s["feature"]): np.log2(s["lift"]) for p in profiles.itertuples() for s in p.feature_stats
         if s["lift"]}
features = sorted({f for _, f in lifts})
grid = np.array([[lifts.get((name, f), np.nan) for f in features] for name in profiles["segment_name"]])
fig, ax = plt.subplots(figsize=(12, 0.55 * len(profiles) + 2))
image = ax.imshow(grid, cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
ax.set_xticks(range(len(features)), features, rotation=45, ha="right")
ax.set_yticks(range(len(profiles)), profiles["segment_name"])
for (row, col), value in np.ndenumerate(grid):
    if not np.isnan(value):
        ax.text(col, row, f"{2 ** value:.1f}x", ha="center", va="center", fontsize=8)
fig.colorbar(image, ax=ax, label="log2 lift")
plt.show()

# %% [markdown]
# ## Customers in the model's space: PCA scatter coloured by segment, and a t-SNE map of a sample

# %%
sample, vectors = model_space_sample(tables, SAMPLE_ROWS)
names = sorted(sample["segment_name"].unique())
colours = {name: f"C{i % 10}" for i, name in enumerate(names)}
plane = PCA(n_components=2, random_state=0).fit_transform(vectors)
small = min(TSNE_ROWS, len(sample))
tsne = TSNE(n_components=2, perplexity=min(30, max(5, small // 4)), init="pca", random_state=0).fit_transform(
    vectors[:small])
fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6))
for name in names:
    rows = (sample["segment_name"] == name).to_numpy()
    left.scatter(plane[rows, 0], plane[rows, 1], s=6, color=colours[name], label=name)
    right.scatter(tsne[rows[:small], 0], tsne[rows[:small], 1], s=8, color=colours[name])
left.set_title(f"PCA of {len(sample):,} customers (model input vectors)")
right.set_title(f"t-SNE of {small:,} customers")
left.legend(fontsize=8, markerscale=3)
plt.show()

# %% [markdown]
# ## The parent level: a dendrogram of the segment centres (Ward), as the parent segments merge them

# %%
centroids = profiles["centroid"].map(dict)
keys = sorted(set.intersection(*[set(c) for c in centroids]))
matrix = np.array([[c[k] for k in keys] for c in centroids])
matrix = (matrix - matrix.mean(axis=0)) / np.where(matrix.std(axis=0) > 0, matrix.std(axis=0), 1.0)
fig, ax = plt.subplots(figsize=(10, 4))
dendrogram(linkage(matrix, method="ward"), labels=[f"{n} ({p})" for n, p in
                                                   zip(profiles["segment_name"], profiles["parent_segment_name"],
                                                       strict=True)], leaf_rotation=30, ax=ax)
ax.set_title("Segment centres merged by Ward's criterion (labels: segment (parent))")
plt.setp(ax.get_xticklabels(), ha="right", fontsize=8)
plt.show()

# %% [markdown]
# ## The RFM grid: customers and mean spend per recency and frequency score

# %%
segments = tables.read("customer_segments", VERSION)
rfm = (tables.read("customer_features").join(segments.select("customer_id"), "customer_id", "inner")
       .groupBy("r_score", "f_score").agg(F.count(F.lit(1)).alias("customers"), F.avg("monetary").alias("spend"))
       .toPandas())  # at most 6 x 6 cells
cells = rfm.pivot(index="r_score", columns="f_score", values="customers").fillna(0)
fig, ax = plt.subplots(figsize=(6.5, 5))
image = ax.imshow(cells.to_numpy(), cmap="Greens", origin="lower")
ax.set_xticks(range(len(cells.columns)), cells.columns)
ax.set_yticks(range(len(cells.index)), cells.index)
for (row, col), value in np.ndenumerate(cells.to_numpy()):
    ax.text(col, row, f"{int(value):,}", ha="center", va="center", fontsize=8)
ax.set_xlabel("frequency score (0: no orders)")
ax.set_ylabel("recency score")
fig.colorbar(image, ax=ax, label="customers")
plt.show()
print(segments.groupBy("segment_name").pivot("rfm_segment").count().fillna(0).toPandas().to_string(index=False))

# %% [markdown]
# ## Stability: adjusted Rand index of bootstrap re-fits and of a hold-out re-fit against the full fit

# %%
figures = {name: chosen[name] for name in ("stability_ari_mean", "stability_ari_min", "holdout_ari", "archetype_ari")
           if chosen[name] == chosen[name] and chosen[name] is not None}
if figures:
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.barh(list(figures), list(figures.values()), color="#1565c0")
    ax.set_xlim(0, 1)
    ax.set_xlabel("adjusted Rand index (1: identical segments)")
    ax.set_title(f"k={chosen['k']}: stability of the segments")
    plt.show()
else:
    print("no stability figures: the run had segment.bootstrap_samples = 0")
