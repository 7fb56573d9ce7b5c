"""Bar charts as inline SVG, drawn on the server: no JavaScript, readable in print and by screen readers.

Every bar carries a ``<title>`` (its label, series and count) and the chart a text summary, so the
numbers are there even where the picture is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 36


@dataclass(frozen=True, slots=True)
class Series:
    name: str  # shown in the legend and the bar titles
    color: str
    values: Sequence[int]


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10ⁿ)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(labels: Sequence[str], series: Sequence[Series], title: str, label_every: int = 1) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    top = _nice_max(max((v for s in series for v in s.values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(len(labels), 1)
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    for tick in sorted({0, top // 2, top}):
        y = TOP + plot_h - plot_h * tick / top
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d7de"/>'
                     f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="#656d76">{tick}</text>')
    for i, label in enumerate(labels):
        x0 = LEFT + i * group_w + group_w * 0.1
        for j, s in enumerate(series):
            value = s.values[i]
            h = plot_h * value / top
            parts.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{escape(s.color)}"><title>{escape(label)} · {escape(s.name)}：'
                         f"{value}</title></rect>")
        if i % label_every == 0:
            parts.append(f'<text x="{LEFT + (i + 0.5) * group_w:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" '
                         f'text-anchor="middle" fill="#656d76">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
