"""Inline SVG charts for the HTML reports: horizontal bars (single or grouped), a heatmap and a line chart.

Hand-written SVG keeps a report one self-contained file without scripts or a plotting
library, and lets every mark carry its raw figure in ``data-value`` (with ``data-label``,
``data-row``/``data-col`` or ``data-x`` naming what it shows), so a browser test can compare
what is drawn with the tables it came from.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

from markupsafe import Markup

BAR = "#337ab7"
FONT = "font-size=\"11\" font-family=\"system-ui,sans-serif\""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _short(label: str, limit: int = 32) -> str:
    """Labels drawn in a fixed-width gutter are cut to keep the chart inside its box."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(items: Sequence[tuple[str, float]], metric: str, caption: str,
              fmt: Callable[[float], str] = lambda v: f"{v:,.0f}", width: int = 620) -> Markup:
    """Horizontal bars, one per (label, value), longest bar = largest value.

    Args:
        items: labels and non-negative values, drawn in the given order.
        metric: the ``data-metric`` of the figure (what the values are).
        caption: text under the chart.
        fmt: how a value is written at the end of its bar.
        width: chart width in pixels.

    Returns:
        A ``<figure>`` with an inline SVG; an empty-data note when ``items`` is empty.
    """
    if not items:
        return Markup(f"<p class=\"muted\">{_e(caption)}: no data.</p>")
    row, gutter, room = 18, 210, 80
    peak = max(value for _, value in items) or 1.0
    scale = (width - gutter - room) / peak
    marks = []
    for index, (label, value) in enumerate(items):
        y = index * row
        marks.append(
            f"<text x=\"{gutter - 6}\" y=\"{y + 13}\" text-anchor=\"end\" {FONT}><title>{_e(label)}</title>"
            f"{_e(_short(label))}</text>"
            f"<rect class=\"bar\" data-label=\"{_e(label)}\" data-value=\"{value!r}\" x=\"{gutter}\" y=\"{y + 3}\" "
            f"width=\"{max(value * scale, 0.5):.1f}\" height=\"{row - 5}\" fill=\"{BAR}\"/>"
            f"<text x=\"{gutter + value * scale + 4:.1f}\" y=\"{y + 13}\" {FONT}>{_e(fmt(value))}</text>"
        )
    height = row * len(items) + 4
    return Markup(
        f"<figure data-metric=\"{_e(metric)}\"><svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" "
        f"height=\"{height}\" role=\"img\" aria-label=\"{_e(caption)}\">{''.join(marks)}</svg>"
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


SERIES = ("#337ab7", "#9e9e9e", "#5cb85c", "#f0ad4e")


def grouped_bar_chart(groups: Sequence[str], series: Sequence[str], values: dict[tuple[str, str], float],
                      metric: str, caption: str, fmt: Callable[[float], str] = lambda v: f"{v:.3f}",
                      peak: float | None = None, width: int = 620) -> Markup:
    """Horizontal bars in groups, one bar per series within each group, with a legend of the series.

    Args:
        groups: group labels, top to bottom.
        series: series labels, the bars' order within a group (four colours, then they repeat).
        values: non-negative value per (group, series); a missing one is written "n/a" and has no mark.
        metric: the ``data-metric`` of the figure.
        caption: text under the chart.
        fmt: how a value is written at the end of its bar.
        peak: the value of a full-length bar (default: the largest value).
        width: chart width in pixels.

    Returns:
        A ``<figure>`` whose bars carry ``data-row`` (group), ``data-col`` (series) and ``data-value``;
        an empty-data note when there is no value.
    """
    if not groups or not values:
        return Markup(f"<p class=\"muted\">{_e(caption)}: no data.</p>")
    bar, gap, gutter, room, head = 13, 8, 210, 80, 22
    scale = (width - gutter - room) / (peak or max(values.values()) or 1.0)
    colour = {name: SERIES[i % len(SERIES)] for i, name in enumerate(series)}
    marks = [f"<rect x=\"{gutter + 110 * i}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{colour[name]}\"/>"
             f"<text x=\"{gutter + 110 * i + 14}\" y=\"13\" {FONT}>{_e(_short(name, 16))}</text>"
             for i, name in enumerate(series)]
    block = bar * len(series) + gap
    for j, group in enumerate(groups):
        top = head + j * block
        marks.append(f"<text x=\"{gutter - 6}\" y=\"{top + bar * len(series) / 2 + 4:.1f}\" text-anchor=\"end\" "
                     f"{FONT}><title>{_e(group)}</title>{_e(_short(group))}</text>")
        for i, name in enumerate(series):
            y, value = top + i * bar, values.get((group, name))
            if value is None or math.isnan(value):
                marks.append(f"<text x=\"{gutter + 4}\" y=\"{y + 10}\" {FONT} fill=\"#777\">{_e(name)}: n/a</text>")
                continue
            marks.append(
                f"<rect class=\"bar\" data-row=\"{_e(group)}\" data-col=\"{_e(name)}\" data-value=\"{value!r}\" "
                f"x=\"{gutter}\" y=\"{y + 1}\" width=\"{max(value * scale, 0.5):.1f}\" height=\"{bar - 2}\" "
                f"fill=\"{colour[name]}\"><title>{_e(f'{group}, {name}: {fmt(value)}')}</title></rect>"
                f"<text x=\"{gutter + value * scale + 4:.1f}\" y=\"{y + 10}\" {FONT}>{_e(fmt(value))}</text>"
            )
    height = head + block * len(groups)
    return Markup(
        f"<figure data-metric=\"{_e(metric)}\"><svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" "
        f"height=\"{height}\" role=\"img\" aria-label=\"{_e(caption)}\">{''.join(marks)}</svg>"
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def heatmap(rows: Sequence[str], cols: Sequence[str], values: dict[tuple[str, str], float], metric: str,
            caption: str, fmt: Callable[[float], str] = lambda v: f"{v:.2f}",
            shade: Callable[[float], float] | None = None) -> Markup:
    """A grid of cells coloured by value; missing cells stay blank.

    Args:
        rows: row labels, top to bottom.
        cols: column labels, left to right.
        values: value per (row, column).
        metric: the ``data-metric`` of the figure.
        caption: text under the chart.
        fmt: how a value is written in its cell.
        shade: maps a value to -1..1 (blue below 0, red above); default scales by the largest magnitude.

    Returns:
        A ``<figure>`` with an inline SVG; an empty-data note when there are no cells.
    """
    if not rows or not cols:
        return Markup(f"<p class=\"muted\">{_e(caption)}: no data.</p>")
    peak = max((abs(v) for v in values.values()), default=1.0) or 1.0
    to_unit = shade or (lambda v: v / peak)
    cell_w, cell_h, gutter, head = 74, 22, 190, 96
    marks = [
        f"<text transform=\"translate({gutter + i * cell_w + cell_w / 2},{head - 6}) rotate(-35)\" {FONT}>"
        f"<title>{_e(c)}</title>{_e(_short(c, 18))}</text>" for i, c in enumerate(cols)
    ]
    for j, r in enumerate(rows):
        y = head + j * cell_h
        marks.append(f"<text x=\"{gutter - 6}\" y=\"{y + 15}\" text-anchor=\"end\" {FONT}><title>{_e(r)}</title>"
                     f"{_e(_short(r, 30))}</text>")
        for i, c in enumerate(cols):
            if (r, c) not in values:
                continue
            value = values[(r, c)]
            marks.append(
                f"<rect class=\"cell\" data-row=\"{_e(r)}\" data-col=\"{_e(c)}\" data-value=\"{value!r}\" "
                f"x=\"{gutter + i * cell_w}\" y=\"{y}\" width=\"{cell_w - 2}\" height=\"{cell_h - 2}\" "
                f"fill=\"{_colour(to_unit(value))}\"/>"
                f"<text x=\"{gutter + i * cell_w + cell_w / 2 - 1}\" y=\"{y + 15}\" text-anchor=\"middle\" "
                f"fill=\"{'white' if abs(to_unit(value)) > 0.6 else 'black'}\" {FONT}>{_e(fmt(value))}</text>"
            )
    # The slanted column labels reach past the last column: leave them room on the right.
    width, height = gutter + cell_w * len(cols) + 90, head + cell_h * len(rows) + 4
    return Markup(
        f"<figure data-metric=\"{_e(metric)}\"><svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" "
        f"height=\"{height}\" role=\"img\" aria-label=\"{_e(caption)}\">{''.join(marks)}</svg>"
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def line_chart(points: Sequence[tuple[float, float]], metric: str, caption: str, highlight: float | None = None,
               fmt: Callable[[float], str] = lambda v: f"{v:.3f}", width: int = 420, height: int = 200) -> Markup:
    """Points joined by a line, x ascending; the point at x == ``highlight`` is drawn larger.

    Args:
        points: (x, y) pairs.
        metric: the ``data-metric`` of the figure.
        caption: text under the chart.
        highlight: an x value to mark (the chosen k).
        fmt: how a y value is labelled.
        width: chart width in pixels.
        height: chart height in pixels.

    Returns:
        A ``<figure>`` with an inline SVG; an empty-data note when ``points`` is empty.
    """
    finite = sorted((x, y) for x, y in points if math.isfinite(y))
    if not finite:
        return Markup(f"<p class=\"muted\">{_e(caption)}: no data.</p>")
    pad = 34
    xs, ys = [x for x, _ in finite], [y for _, y in finite]
    x_span, y_span = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0

    def position(x: float, y: float) -> tuple[float, float]:
        return (pad + (x - min(xs)) / x_span * (width - 2 * pad),
                height - pad - (y - min(ys)) / y_span * (height - 2 * pad))

    path = " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}"
                    for i, (px, py) in enumerate(position(x, y) for x, y in finite))
    marks = [f"<path d=\"{path}\" fill=\"none\" stroke=\"{BAR}\" stroke-width=\"2\"/>"]
    for x, y in finite:
        px, py = position(x, y)
        radius = 6 if highlight is not None and x == highlight else 3.5
        marks.append(
            f"<circle class=\"point\" data-x=\"{x!r}\" data-value=\"{y!r}\" cx=\"{px:.1f}\" cy=\"{py:.1f}\" "
            f"r=\"{radius}\" fill=\"{'#d9534f' if radius > 4 else BAR}\"><title>{_e(f'{x:g}: {fmt(y)}')}</title>"
            f"</circle><text x=\"{px:.1f}\" y=\"{height - pad + 16}\" text-anchor=\"middle\" {FONT}>{x:g}</text>"
        )
    marks.append(f"<text x=\"4\" y=\"{pad - 12}\" {FONT}>max {_e(fmt(max(ys)))}</text>"
                 f"<text x=\"4\" y=\"{height - 4}\" {FONT}>min {_e(fmt(min(ys)))}</text>")
    return Markup(
        f"<figure data-metric=\"{_e(metric)}\"><svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" "
        f"height=\"{height}\" role=\"img\" aria-label=\"{_e(caption)}\">{''.join(marks)}</svg>"
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _colour(unit: float) -> str:
    """White at 0, towards red for positive and blue for negative values (clipped to -1..1)."""
    unit = max(-1.0, min(1.0, unit))
    fade = int(255 * (1 - abs(unit)))
    return f"rgb(255,{fade},{fade})" if unit >= 0 else f"rgb({fade},{fade},255)"
