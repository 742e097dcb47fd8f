"""Server-drawn charts: the geometry of a bar or line chart as plain numbers that
templates/stats/_charts.html turns into inline SVG. No JavaScript, prints as drawn, keeps the
strict CSP (SVG presentation attributes, no style attributes). Every chart has its table
beside it; the chart is decoration for those who see it (aria-hidden is not used: it has a
title naming the table)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH = 640
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, VALUE_WIDTH = 22, 8, 190, 70


@dataclass
class Bar:
    y: int
    width: float
    label: str
    value: int


def bars(points: list[tuple[str, int]], limit: int = 15) -> dict:
    points = points[:limit]
    top = max((v for _, v in points), default=0) or 1
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    items = [Bar(y=i * (BAR_HEIGHT + BAR_GAP), width=round(room * v / top, 1), label=label[:32], value=v)
             for i, (label, v) in enumerate(points)]
    return {"width": WIDTH, "height": max(1, len(items) * (BAR_HEIGHT + BAR_GAP)), "bars": items,
            "label_width": LABEL_WIDTH, "bar_height": BAR_HEIGHT, "value_width": VALUE_WIDTH}


def line(days: list[date], series: list[list[int]], height: int = 220) -> dict:
    """Polylines for each series over the days (left = first day; the page flips nothing)."""
    pad_x, pad_y, top_pad = 48, 24, 10
    top = max((v for s in series for v in s), default=0) or 1
    n = max(1, len(days) - 1)
    inner_w, inner_h = WIDTH - pad_x - 8, height - pad_y - top_pad

    def point(i: int, v: int) -> str:
        return f"{pad_x + inner_w * i / n:.1f},{top_pad + inner_h * (1 - v / top):.1f}"

    lines = [" ".join(point(i, v) for i, v in enumerate(s)) for s in series]
    # Month marks on the axis (at most ~12), or every week for short ranges.
    ticks = []
    step_month = len(days) > 62
    for i, day in enumerate(days):
        if (step_month and day.day == 1) or (not step_month and (i % 7 == 0)):
            # as the desk writes dates, day first ("01/12", "12/2026"); the template gives the digits
            ticks.append({"x": round(pad_x + inner_w * i / n, 1), "label": f"{day.month:02d}/{day.year}" if step_month
                          else f"{day.day:02d}/{day.month:02d}"})
    if len(ticks) > 12:
        ticks = ticks[::-(-len(ticks) // 12)]
    return {"width": WIDTH, "height": height, "lines": lines, "top": top, "ticks": ticks,
            "x0": pad_x, "y0": top_pad + inner_h, "y_top": top_pad, "x_end": WIDTH - 8}
