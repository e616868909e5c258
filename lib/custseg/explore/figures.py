"""Charts the notebooks draw that matplotlib has no ready-made form for: a match-weight waterfall
(as Splink draws one per pair), a two-column flow (Sankey) chart of segment migration, and the
bars, curves, heatmaps and boxes the act and real-time notebooks draw from small aggregates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def waterfall(ax: Any, contributions: Mapping[str, float], prior_weight: float, title: str = "") -> Any:
    """Bars from the prior's log2 odds through each field's weight to the pair's match weight.

    Args:
        ax: a matplotlib Axes.
        contributions: field -> log2(m/u) of the level the pair reached (``match_pairs.contributions``).
        prior_weight: log2 of the prior odds (``match_weight`` minus the sum of the contributions).
        title: Axes title.

    Returns:
        ``ax``, with one bar per step and a final bar for the total.

    Raises:
        ValueError: when ``contributions`` is empty (a pair always has at least one compared field).
    """
    if not contributions:
        raise ValueError("waterfall needs at least one field contribution")
    steps = [("prior", prior_weight), *sorted(contributions.items(), key=lambda item: -abs(item[1]))]
    running, bottoms, heights = 0.0, [], []
    for _, weight in steps:
        bottoms.append(running if weight >= 0 else running + weight)
        heights.append(abs(weight))
        running += weight
    colours = ["#888888"] + ["#2e7d32" if w >= 0 else "#c62828" for _, w in steps[1:]]
    labels = [name for name, _ in steps] + ["match weight"]
    ax.bar(range(len(steps)), heights, bottom=bottoms, color=colours)
    ax.bar([len(steps)], [abs(running)], bottom=[min(running, 0.0)], color="#1565c0")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_ylabel("log2 Bayes factor")
    ax.set_title(title)
    return ax


def sankey(ax: Any, flows: Sequence[tuple[str, str, float]], title: str = "") -> Any:
    """Two columns of stacked boxes (earlier and later segments) joined by bands as wide as each flow.

    Args:
        ax: a matplotlib Axes.
        flows: (from label, to label, customers), customers > 0.
        title: Axes title.

    Returns:
        ``ax``.

    Raises:
        ValueError: when there is no positive flow.
    """
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as CurvePath

    flows = [f for f in flows if f[2] > 0]
    if not flows:
        raise ValueError("sankey needs at least one flow with customers")
    total, gap = float(sum(n for _, _, n in flows)), 0.02
    left = _stack([f[0] for f in flows], flows, 0, total, gap)
    right = _stack([f[1] for f in flows], flows, 1, total, gap)
    cursor_l = {k: v[0] for k, v in left.items()}
    cursor_r = {k: v[0] for k, v in right.items()}
    palette = [f"C{i}" for i in range(10)]
    colour = {name: palette[i % 10] for i, name in enumerate(left)}
    for source, target, n in sorted(flows, key=lambda f: (list(left).index(f[0]), list(right).index(f[1]))):
        h = n / total
        y0, y1 = cursor_l[source], cursor_r[target]
        cursor_l[source] += h
        cursor_r[target] += h
        vertices = [(0.1, y0), (0.5, y0), (0.5, y1), (0.9, y1), (0.9, y1 + h), (0.5, y1 + h), (0.5, y0 + h),
                    (0.1, y0 + h), (0.1, y0)]
        codes = [CurvePath.MOVETO, CurvePath.CURVE4, CurvePath.CURVE4, CurvePath.CURVE4, CurvePath.LINETO,
                 CurvePath.CURVE4, CurvePath.CURVE4, CurvePath.CURVE4, CurvePath.CLOSEPOLY]
        ax.add_patch(PathPatch(CurvePath(vertices, codes), facecolor=colour[source], alpha=0.45, linewidth=0))
    for x, boxes, align in ((0.0, left, "right"), (0.9, right, "left")):
        for name, (bottom, height) in boxes.items():
            ax.add_patch(_box(x, bottom, height))
            ax.text(x - 0.01 if align == "right" else x + 0.11, bottom + height / 2, name, ha=align, va="center",
                    fontsize=9)
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylim(0, 1 + gap * max(len(left), len(right)))
    ax.axis("off")
    ax.set_title(title)
    return ax


def _stack(names: list[str], flows: Sequence[tuple[str, str, float]], side: int, total: float,
           gap: float) -> dict[str, tuple[float, float]]:
    """(bottom, height) of each label's box on one side, in first-seen order, sized by its customers."""
    sizes: dict[str, float] = {}
    for flow in flows:
        label = str(flow[side])
        sizes[label] = sizes.get(label, 0.0) + flow[2]
    boxes, bottom = {}, 0.0
    for name in dict.fromkeys(names):
        boxes[name] = (bottom, sizes[name] / total)
        bottom += sizes[name] / total + gap
    return boxes


def _box(x: float, bottom: float, height: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, bottom), 0.1, height, facecolor="#455a64")


def grouped_bars(ax: Any, frame: Any, group: str, series: str, value: str, title: str = "",
                 series_order: Sequence[str] | None = None, colours: Mapping[str, str] | None = None) -> Any:
    """Vertical bars of ``value``, one cluster per ``group`` and one bar per ``series`` within it.

    Args:
        ax: a matplotlib Axes.
        frame: a pandas frame with one row per (group, series); a missing or NaN value is marked "n/a".
        group: column naming the clusters, drawn in the order first seen.
        series: column naming the bars of a cluster (and the legend).
        value: column of bar heights.
        title: Axes title.
        series_order: the series to draw, in order (default: in the order first seen).
        colours: colour per series (default: matplotlib's cycle).

    Returns:
        ``ax``.

    Raises:
        ValueError: when ``frame`` has no finite ``value``.
    """
    table = frame.pivot_table(index=group, columns=series, values=value, aggfunc="first", dropna=False, sort=False)
    names = list(series_order) if series_order is not None else list(dict.fromkeys(frame[series]))
    table = table.reindex(index=list(dict.fromkeys(frame[group])), columns=names)
    if not table.notna().to_numpy().any():
        raise ValueError(f"grouped_bars: no value in column {value!r}")
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        positions = [g + (i - (len(names) - 1) / 2) * width for g in range(len(table.index))]
        colour = None if colours is None else colours.get(name)
        heights = table[name].to_numpy(dtype=float)
        ax.bar(positions, heights, width=width, label=name, color=colour)
        for x, height in zip(positions, heights, strict=True):
            if height != height:  # NaN: no figure for this bar (one class among a segment's rows)
                ax.text(x, 0, "n/a", ha="center", va="bottom", rotation=90, fontsize=7, color="#757575")
    ax.set_xticks(range(len(table.index)), [str(g) for g in table.index], rotation=30, ha="right")
    ax.set_title(title)
    peak = float(max(table.max(skipna=True).max(), 0.0))
    ax.set_ylim(0, 1.3 * peak if peak > 0 else 1.0)  # room for the legend above the bars
    ax.legend(fontsize=8, ncols=len(names), loc="upper left")
    return ax


def reliability_curve(ax: Any, curve: Any, label: str) -> Any:
    """Observed positive rate against mean predicted probability per score bin, with the diagonal
    of perfect calibration; point areas follow the bins' rows.

    Args:
        ax: a matplotlib Axes.
        curve: a pandas frame with mean_score, observed_rate and rows, one row per bin.
        label: legend entry of the curve.

    Returns:
        ``ax``.
    """
    points = curve.sort_values("mean_score")
    ax.plot([0, 1], [0, 1], linestyle="--", color="#888888", linewidth=1)
    ax.plot(points["mean_score"], points["observed_rate"], marker="o", label=label)
    sizes = 20 + 200 * points["rows"] / max(float(points["rows"].max()), 1.0)
    ax.scatter(points["mean_score"], points["observed_rate"], s=sizes, alpha=0.3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    return ax


def annotated_heatmap(ax: Any, table: Any, title: str = "", fmt: str = "{:.2f}", cmap: str = "Blues") -> Any:
    """A pandas pivot drawn as coloured cells with each value written in its cell (NaN cells blank).

    Args:
        ax: a matplotlib Axes.
        table: a pandas frame: rows, columns and numeric values.
        title: Axes title.
        fmt: format of the written values.
        cmap: matplotlib colour map.

    Returns:
        The image (for a colour bar).
    """
    import numpy as np

    values = table.to_numpy(dtype=float)
    image = ax.imshow(values, cmap=cmap, aspect="auto")
    ax.set_xticks(range(len(table.columns)), [str(c) for c in table.columns], rotation=40, ha="right")
    ax.set_yticks(range(len(table.index)), [str(r) for r in table.index])
    peak = np.nanmax(values) if np.isfinite(values).any() else 0.0
    for (row, col), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(col, row, fmt.format(value), ha="center", va="center", fontsize=8,
                    color="white" if peak and value > 0.6 * peak else "black")
    ax.set_title(title)
    return image


def quantile_boxes(ax: Any, summary: Any, label: str, quantiles: Sequence[float], title: str = "") -> Any:
    """One box per row of ``summary`` drawn from quantiles computed elsewhere (in Spark): whiskers at
    the first and last quantile, the box between the second and the second last, a line at the median.

    Args:
        ax: a matplotlib Axes.
        summary: a pandas frame with ``label``, ``mean`` and ``quantiles`` (values at ``quantiles``).
        label: column naming each box.
        quantiles: the probabilities behind ``summary.quantiles``; 0.5 among them, at least five.
        title: Axes title.

    Returns:
        ``ax``.
    """
    middle = list(quantiles).index(0.5)
    stats = [{"label": str(row[label]), "mean": row["mean"], "whislo": row["quantiles"][0],
              "q1": row["quantiles"][1], "med": row["quantiles"][middle], "q3": row["quantiles"][-2],
              "whishi": row["quantiles"][-1], "fliers": []} for _, row in summary.iterrows()]
    ax.bxp(stats, showmeans=True)
    ax.set_title(title)
    return ax
