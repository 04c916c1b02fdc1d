"""The HTML report of a chip run: a Gantt chart of the tiles over time (busy, blocked, and the pipeline's
bubbles), power per tile over time, and the grid model's thermal map at the peak. Self-contained and
deterministic like :mod:`.html` (SVG charts drawn by :class:`svg.Chart`, no timestamps)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import svg
from .html import _PALETTE, _page

#: State -> colour in the Gantt chart.
STATES = {"busy": "#228833", "dram stall": "#ccbb44", "blocked": "#ee6677", "starved": "#cccccc"}


def _gantt_chart(g, chip) -> svg.Chart:
    """One row per tile (tile 0 on top), filled where the tile is in each state."""
    ch = svg.Chart(
        "Tiles over time (grey: bubbles, waiting for input)",
        "time (ms)",
        "tile",
        height=120 + 22 * chip.tiles,
    )
    ch.zero = False
    ch.xlim = (0.0, g.makespan_s * 1e3)
    ch.ylim = (-0.6, chip.tiles - 0.4)
    ch.y_down = True
    for state, colour in STATES.items():
        labelled = False
        for t in range(chip.tiles):
            s = int(g.tile_stage[t])
            if s < 0:
                continue
            computed = g.computed_s()[s]
            lo_hi = {
                "busy": (g.start_s[s], computed),
                "dram stall": (computed, g.finish_s[s]),
                "blocked": (g.finish_s[s], g.depart_s[s]),
                "starved": (g.free_s[s], g.start_s[s]),
            }[state]
            a, e = lo_hi
            edges = np.sort(np.concatenate([[0.0], a, e, [g.depart_s[s, -1], g.makespan_s]]))
            mid = (edges[:-1] + edges[1:]) / 2
            on = ((mid[:, None] >= a[None, :]) & (mid[:, None] < e[None, :])).any(axis=1)
            if state == "starved":  # the tail after the last item waits too
                on |= mid >= g.depart_s[s, -1]
            if not on.any():
                continue
            y = float(t)
            ch.stairs(
                edges * 1e3,
                np.full(on.size, y - 0.4),
                np.where(on, y + 0.4, y - 0.4),
                colour,
                None if labelled else state,
            )
            labelled = True
    return ch


def _power_chart(edges_s: np.ndarray, power_w: np.ndarray, names: list[str]) -> svg.Chart:
    ch = svg.Chart("Power per tile", "time (ms)", "W")
    ch.xlim = (float(edges_s[0]) * 1e3, float(edges_s[-1]) * 1e3)
    for t, name in enumerate(names):
        ch.stairs(edges_s * 1e3, None, power_w[:, t], _PALETTE[t % len(_PALETTE)], name if t < 12 else None)
    return ch


def _thermal_chart(thermal, chip) -> svg.Chart:
    field = thermal.peak_map_k - 273.15
    lo, hi = float(field.min()), float(field.max())
    rgb = svg.heat((field - lo) / max(hi - lo, 1e-9))
    ch = svg.Chart(
        "Silicon at the peak (grid model)", "column of tiles", "row of tiles", width=520, height=420
    )
    ch.zero = False
    ch.xlim, ch.ylim = (0.0, float(chip.cols)), (0.0, float(chip.rows))
    ch.y_down = True
    ch.image(svg.png(rgb), (0.0, float(chip.cols), 0.0, float(chip.rows)))
    for t in range(chip.tiles):
        r, c = divmod(t, chip.cols)
        ch.rect(c, c + 1, r, r + 1, f"{t}")
    ch.colorbar(lo, hi, "°C")
    return ch


def chip_html(summary: Mapping[str, Any], g, edges_s, power_w, thermal, chip) -> str:
    """The report as one HTML document."""
    names = [f"tile_{t // chip.cols}_{t % chip.cols}" for t in range(chip.tiles)]
    parts = [f"<h1>{svg.escape(summary['workload']['name'])} on {svg.escape(chip.name)}</h1>"]
    parts.append(f"<pre>{svg.escape(json.dumps(summary['total'], indent=1))}</pre>")
    parts.append("<h2>Pipeline</h2>")
    parts.append(_gantt_chart(g, chip).img("gantt", "Gantt chart of the tiles"))
    parts.append("<h2>Power</h2>")
    parts.append(_power_chart(edges_s, power_w, names).img("power", "power per tile over time"))
    if thermal is not None:
        parts.append("<h2>Temperature</h2>")
        parts.append(_thermal_chart(thermal, chip).img("thermal", "thermal map at the peak"))
    if "dtm" in summary:
        parts.append("<h2>Dynamic thermal management</h2>")
        parts.append(f"<pre>{svg.escape(json.dumps(summary['dtm'], indent=1))}</pre>")
    parts.append("<h2>Stages</h2>")
    parts.append(f"<pre>{svg.escape(json.dumps(summary['mapping'], indent=1))}</pre>")
    return _page(f"{summary['workload']['name']} on {chip.name}", "\n".join(parts))
