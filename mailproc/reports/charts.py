"""Charts as inline SVG, drawn on the server by pygal: no JavaScript, no network, prints.

pygal rather than matplotlib: 1.3 MB installed against about 80 MB (matplotlib with
fontTools, Pillow and kiwisolver), 0.04 s to import against 0.57 s, and 19 ms against 71 ms
to draw a two-series bar chart of 56 bars (measured on this project's machine, 2 cores).
"""

from __future__ import annotations

import re

import pygal
from pygal.style import Style

STYLE = Style(background="white", plot_background="white", foreground="#222",
              foreground_strong="#111", foreground_subtle="#777",
              colors=("#2563eb", "#a3a3a3", "#dc2626", "#16a34a"),
              font_family="DejaVu Sans, Arial, sans-serif", label_font_size=11,
              major_label_font_size=11, legend_font_size=12, title_font_size=14,
              value_font_size=10)
OPTIONS = dict(style=STYLE, js=[], disable_xml_declaration=True, width=760, height=300,
               explicit_size=False, legend_at_bottom=True, print_values=False, show_y_guides=True,
               truncate_label=-1, margin=10)


def _render(chart) -> str:
    # pygal writes its config for tooltips as an inline script even without its JavaScript
    # files; the report needs none of it.
    svg = re.sub(r"<script[^>]*>.*?</script>", "", chart.render(is_unicode=True), flags=re.S)
    return re.sub(r"<!--.*?-->", "", svg, flags=re.S)


def bars(title: str, labels: list[str], series: dict[str, list], *, horizontal: bool = False,
         y_title: str = "", label_every: int = 1, percent: bool = False) -> str:
    """Bars for each series beside each other; None is a gap (no value)."""
    cls = pygal.HorizontalBar if horizontal else pygal.Bar
    extra = {"range": (0, 100)} if percent else {}
    chart = cls(title=title, y_title=y_title, **OPTIONS, **extra,
                x_label_rotation=0 if horizontal or len(labels) < 9 else 45,
                show_minor_x_labels=False)
    chart.x_labels = labels
    if label_every > 1:
        chart.x_labels_major = labels[::label_every]
    for name, values in series.items():
        chart.add(name, values)
    return _render(chart)


def heat_colour(value: int, top: int) -> str:
    """White to deep blue; the text turns white on dark cells (see the template)."""
    if top <= 0 or value <= 0:
        return "#ffffff"
    share = value / top
    r, g, b = (int(255 - (255 - c) * share) for c in (30, 64, 175))
    return f"#{r:02x}{g:02x}{b:02x}"
