"""Charts the notebooks draw that matplotlib has no ready-made form for: a match-weight waterfall
(as Splink draws one per pair) and a two-column flow (Sankey) chart of segment migration."""

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
