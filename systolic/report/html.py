"""One self-contained HTML report per run: tables and plots of cycles, utilisation, the roofline and
Eyexam's bounds, and, when given, energy, power over time, the V/f timeline and a thermal map.

The file needs nothing but a browser: CSS is inline, there are no external URLs, and every plot is an
``<img>`` with a ``data:`` URI: an SVG drawn here (:class:`svg.Chart`; the thermal map is a PNG inside it).
The charts are written directly rather than with matplotlib, whose import and layout alone took over a
second of CPU per report, more than the whole model run. The bytes depend only on the inputs: no
timestamps, and the run's own wall time (``summary['model_seconds']``) is left out. A few lines of inline
script mark ``<body data-rendered="yes">`` once every image has decoded, for headless-browser checks.

Optional sections
-----------------
``sections`` maps a section name to a dict of plain lists or NumPy arrays; any of them may be left out.
Series given as a dict (``{name: values}``) are drawn one per name in the dict's order; a bare array is one
unnamed series. Time series are plotted with at most :data:`MAX_INTERVALS` intervals (runs of equal
values merged, then neighbours averaged, time-weighted); tables use the data as given.

``"energy"``
    ``classes_pj``: ``{component class: pJ}``, each value per layer (``[layer]``) or a total (scalar),
    e.g. ``dict(zip(COMPONENT_CLASSES, table.energy_by_class(counts).T))``; ``memory`` (optional): the
    classes that count as memory (default: names containing ``sram`` or ``dram``); the rest is compute.
``"power"``
    ``edges_s``: ``[interval + 1]`` non-decreasing times; ``power_w``: ``{column: [interval]}`` (stacked) or
    ``[interval]``: mean power per interval (``IntervalPower.edges_s`` and ``power_w`` by column).
``"dvfs"``
    ``edges_s``: ``[segment + 1]``; ``vdd_v`` and ``clock_hz``: ``{domain: [segment]}`` or ``[segment]``:
    the supply and clock held over each segment (``Timeline`` segments: ``start_s`` plus the end).
``"thermal"``
    ``png``: PNG bytes of a rendered map, or ``map_k``: ``[y, x]`` temperatures in kelvin (row 0 at the
    top), with optional ``width_mm`` and ``height_mm`` for the axes.

Every section also takes an optional ``note`` (text shown under its heading).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from systolic.fileio import atomic_write_text
from systolic.model.bounds import STEP_LABELS, Bounds

from . import svg

SECTIONS: tuple[str, ...] = ("energy", "power", "dvfs", "thermal")
#: Time series are drawn with at most this many intervals.
MAX_INTERVALS = 2000
#: Tables longer than this can be folded away (they are open, and print whole).
_FOLD_ROWS = 16
_PALETTE = (
    "#4477aa",
    "#ee6677",
    "#228833",
    "#ccbb44",
    "#66ccee",
    "#aa3377",
    "#bbbbbb",
    "#332288",
    "#44aa99",
    "#999933",
)
_MEMORY_COLOUR, _COMPUTE_COLOUR = _PALETTE[1], _PALETTE[0]
#: Dash arrays of the lines of one chart, so that lines on the same values stay distinguishable.
_DASHES = ("", "7,4", "2,3", "10,3,2,3")


def write_html_report(
    path: str | os.PathLike,
    summary: Mapping[str, Any],
    bounds: Bounds,
    sections: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write the run's HTML report to ``path`` atomically (see :func:`html_report`) and return the path."""
    return atomic_write_text(path, html_report(summary, bounds, sections))


def html_report(
    summary: Mapping[str, Any],
    bounds: Bounds,
    sections: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The report as one HTML document.

    Parameters
    ----------
    summary : dict
        :func:`systolic.report.summary.run_summary` of the run (``config``, ``workload``, ``layers``,
        ``total``).
    bounds : Bounds
        :func:`systolic.model.bounds.layer_bounds` of the same run.
    sections : dict, optional
        Optional sections by name (:data:`SECTIONS`; formats in the module docstring).

    Raises
    ------
    ValueError
        ``summary`` and ``bounds`` disagree on the layers, or a section is unknown or malformed.
    """
    sections = dict(sections or {})
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown report section(s) {', '.join(unknown)} (known: {', '.join(SECTIONS)})")
    layers = summary["layers"]
    if len(layers) != bounds.layers:
        raise ValueError(f"summary has {len(layers)} layers, bounds {bounds.layers}")
    cfg = summary["config"]
    title = (
        f"{summary['workload']} on {cfg['name']} ({cfg['rows']}x{cfg['cols']} {str(cfg['dataflow']).upper()})"
    )
    body = [f"<h1>{svg.escape(title)}</h1>", _totals(summary, bounds), _config(cfg)]
    body += _layers_section(layers, bounds)
    body += _roofline_section(layers, bounds)
    body += _eyexam_section(layers, bounds)
    render = {
        "energy": _energy_section,
        "power": _power_section,
        "dvfs": _dvfs_section,
        "thermal": _thermal_section,
    }
    for name in SECTIONS:
        if name in sections:
            body += render[name](sections[name], layers)
    return _page(svg.escape(title), "\n".join(body))


def write_analog_html_report(
    path: str | os.PathLike, summary: Mapping[str, Any], sections: Mapping[str, Mapping[str, Any]]
) -> Path:
    """Write the HTML report of a run on an analog core (``systolic.flow.analog_run``): its totals, the
    configuration, a table of the layers, and the energy, power and thermal sections as for the array."""
    cfg, t, layers = summary["config"], summary["total"], summary["layers"]
    title = f"{summary['workload']} on {cfg['name']} (analog, {cfg['crossbars']} crossbars)"
    totals = [
        (
            "inference",
            f"{_time(t['inference_s'])}, {_uj(t['inference_pj'])} µJ ({t['pj_per_mac']:.3f} pJ/MAC)",
        ),
        (
            "programming",
            f"{_uj(t['program_pj'])} µJ ({'once' if t['weights_resident'] else 'every inference'})",
        ),
        ("MACs", _int(t["macs"])),
        ("not modelled", svg.escape(summary["not_modelled"])),
    ]
    rows = [
        (
            str(i),
            svg.escape(ly["name"]),
            f"{ly['m']}x{ly['n']}x{ly['k']}",
            _int(ly["crossbars"]),
            _int(ly["waves"]),
            _time(ly["compute_s"]),
            _time(ly["program_s"]),
            _uj(sum(ly["energy_pj"].values())),
        )
        for i, ly in enumerate(layers)
    ]
    head = ["#", "layer", "M x N x K", "crossbars", "waves", "reads", "programming", "energy (µJ)"]
    body = [f"<h1>{svg.escape(title)}</h1>", _table(["", ""], totals, cls="kv", header=False), _config(cfg)]
    body += ["<h2>Layers</h2>", _table(head, rows)]
    render = {"energy": _energy_section, "power": _power_section, "thermal": _thermal_section}
    for name, sec in sections.items():
        body += render[name](sec, layers)
    return atomic_write_text(path, _page(svg.escape(title), "\n".join(body)))


# --------------------------------------------------------------------------- sections


def _totals(summary: Mapping[str, Any], b: Bounds) -> str:
    t, cfg = summary["total"], summary["config"]
    memory, dram = int(b.memory_bound.sum()), int(b.dram_limited.sum())
    rows = [
        (
            "layers",
            f"{len(summary['layers'])}: {memory} memory-bound on the roofline; with the actual tiles, "
            f"{dram} limited by DRAM bandwidth, {b.layers - dram} by compute",
        ),
        ("cycles", _int(t["cycles"])),
        ("time", f"{_time(t['seconds'])} at {cfg['clock_hz'] / 1e9:g} GHz"),
        ("compute cycles", _int(t["compute_cycles"])),
        ("stall cycles", f"{_int(t['stall_cycles'])} ({100 * t['stall_cycles'] / t['cycles']:.1f}%)"),
        ("MACs", _int(t["macs"])),
        ("utilisation", f"{100 * t['utilisation']:.1f}%"),
        ("DRAM words", f"{_int(t['dram_words'])} ({t['dram_words_per_cycle']:.3g} per cycle)"),
        (
            "peak",
            f"{b.peak_macs_per_cycle:,} MACs/cycle, {b.peak_words_per_cycle:,} DRAM words/cycle each way",
        ),
    ]
    return _table(["", ""], rows, cls="kv", header=False)


def _config(cfg: Mapping[str, Any]) -> str:
    rows = [(svg.escape(k), svg.escape(str(v))) for k, v in cfg.items()]
    return f"<details><summary>Configuration</summary>{_table(['field', 'value'], rows, cls='kv')}</details>"


def _layers_section(layers: list, b: Bounds) -> list[str]:
    names = [ly["name"] for ly in layers]
    x = np.arange(len(names))
    compute = np.array([ly["compute_cycles"] for ly in layers], dtype=float)
    stall = np.array([ly["stall_cycles"] for ly in layers], dtype=float)
    util = np.array([ly["utilisation"] for ly in layers], dtype=float)
    cycles = _layer_chart("Cycles per layer", "cycles", names, 300)
    cycles.bars(x, 0, compute, _PALETTE[0], "compute")
    cycles.bars(x, compute, compute + stall, _PALETTE[1], "stall")
    use = _layer_chart("Utilisation per layer", "utilisation %", names, 220)
    use.ylim = (0.0, 100.0)
    use.bars(x, 0, 100 * util, _PALETTE[2])
    rows = [
        (
            i,
            svg.escape(ly["name"]),
            _int(ly["m"]),
            _int(ly["n"]),
            _int(ly["k"]),
            ly["repeat"],
            _int(ly["macs"]),
            "x".join(str(v) for v in ly["tile"]),
            _int(ly["tiles"]),
            _int(ly["cycles"]),
            _int(ly["compute_cycles"]),
            _int(ly["stall_cycles"]),
            f"{100 * ly['utilisation']:.1f}",
            f"{ly['dram_words_per_cycle']:.3g}",
        )
        for i, ly in enumerate(layers)
    ]
    head = ["#", "layer", "M", "N", "K", "repeat", "MACs", "tile (m x n x k)", "tiles", "cycles"]
    head += ["compute", "stall", "util %", "DRAM words/cycle"]
    return [
        "<h2>Layers</h2>",
        cycles.img("cycles", "Compute and stall cycles per layer"),
        use.img("utilisation", "Utilisation per layer"),
        _table(head, rows),
    ]


def _roofline_section(layers: list, b: Bounds) -> list[str]:
    peak, bw, ridge = b.peak_macs_per_cycle, b.peak_words_per_cycle, b.ridge_macs_per_word
    oi, perf = b.intensity_macs_per_word, b.achieved_macs_per_cycle
    chart = svg.Chart(
        f"Roofline: {peak:,} MACs/cycle, {bw} words/cycle each way, ridge at {ridge:.3g} MACs/word",
        xlabel="operational intensity (MACs per DRAM word, busier direction)",
        ylabel="MACs per cycle",
        xlog=True,
        ylog=True,
        width=760,
        height=420,
    )
    lo, hi = min(float(oi.min()), ridge) / 4, max(float(oi.max()), ridge) * 4
    chart.xlim = (lo, hi)
    chart.ylim = (max(min(float(perf.min()), lo * bw) / 2, 1e-6), peak * 2.0)
    chart.line(np.array([lo, ridge, hi]), np.array([lo * bw, peak, peak]), "#000000", "roofline", 2)
    chart.vline(ridge)
    mem = b.memory_bound
    if mem.any():
        chart.points(oi[mem], perf[mem], _MEMORY_COLOUR, "memory-bound layer")
    if (~mem).any():
        chart.points(oi[~mem], perf[~mem], _COMPUTE_COLOUR, "compute-bound layer")
    rows = [
        (
            i,
            svg.escape(ly["name"]),
            _int(b.dram_read_words[i]),
            _int(b.dram_write_words[i]),
            _int(b.compulsory_dram_words[i]),
            f"{oi[i]:.4g}",
            f"{b.attainable_macs_per_cycle[i]:.4g}",
            f"{perf[i]:.4g}",
            f"{100 * perf[i] / b.attainable_macs_per_cycle[i]:.1f}",
            "memory" if mem[i] else "compute",
            "DRAM" if b.dram_limited[i] else "compute",
        )
        for i, ly in enumerate(layers)
    ]
    head = ["#", "layer", "DRAM reads", "DRAM writes", "compulsory", "MACs/word", "attainable"]
    head += ["achieved", "% of roof", "roofline bound", "mapped limit"]
    return [
        "<h2>Roofline</h2>",
        "<p>Reads and writes use the DRAM port at the same time, so intensity is MACs per word of the "
        "busier direction; <em>compulsory</em> traffic reads A and B once and writes C once. The roofline "
        "assumes a fully used array; <em>mapped limit</em> compares the actual tiles' compute cycles with "
        "their DRAM traffic at peak bandwidth (Eyexam steps 5 and 6).</p>",
        chart.img("roofline", "Roofline with the layers as points"),
        _table(head, rows),
    ]


def _eyexam_section(layers: list, b: Bounds) -> list[str]:
    names = [ly["name"] for ly in layers]
    x = np.arange(len(names))
    gains = np.diff(b.cycles, axis=0, prepend=0).astype(float)  # [step, layer] cycles each step adds
    network = b.macs.sum() / b.cycles.sum(axis=1)  # [step] whole-network MACs per cycle
    per_layer = _layer_chart("Eyexam: the cycles each step adds, per layer", "cycles", names, 320)
    bottom = np.zeros(len(names))
    for s, label in enumerate(STEP_LABELS):
        per_layer.bars(x, bottom, bottom + gains[s], _PALETTE[s], f"{s + 1}. {label}")
        bottom = bottom + gains[s]
    steps = np.arange(1, len(STEP_LABELS) + 1, dtype=float)
    stair = svg.Chart(
        "Network MACs per cycle, step by step",
        xlabel="Eyexam step",
        ylabel="MACs per cycle (bound)",
        ylog=True,
        width=420,
        height=320,
    )
    stair.xlim = (0.5, len(STEP_LABELS) + 0.5)
    stair.xticks = [(float(s), str(int(s))) for s in steps]
    stair.line(steps, network, "#000000", None, 1.5)
    stair.points(steps, network, "#000000", None)
    rows = [
        (i, svg.escape(ly["name"]), *(_int(v) for v in b.cycles[:, i]), svg.escape(STEP_LABELS[b.limiter[i]]))
        for i, ly in enumerate(layers)
    ]
    rows.append(("", "<b>network</b>", *(_int(v) for v in b.cycles.sum(axis=1)), ""))
    head = ["#", "layer", *(f"{s + 1}. {label}" for s, label in enumerate(STEP_LABELS)), "largest loss"]
    return [
        "<h2>Eyexam bounds</h2>",
        "<p>Lower bounds on each layer's cycles, one architectural constraint added per step "
        "(definitions in <code>model/bounds.py</code>); step 7 is the model's cycle count.</p>",
        per_layer.img("eyexam", "Cycles added by each Eyexam step per layer"),
        stair.img("eyexam-network", "Network performance bound per Eyexam step"),
        _table(head, rows),
    ]


def _energy_section(sec: Mapping[str, Any], layers: list) -> list[str]:
    _keys("energy", sec, required=("classes_pj",), optional=("memory", "note"))
    classes = _series("energy", "classes_pj", sec["classes_pj"])
    n = len(layers)
    per_layer = {}
    for name, v in classes.items():
        if v.ndim == 0:
            continue
        if v.shape != (n,):
            raise ValueError(f"energy: classes_pj[{name!r}] has shape {v.shape}, not a scalar or ({n},)")
        per_layer[name] = v
    memory = set(sec.get("memory", [c for c in classes if "sram" in c or "dram" in c]))
    totals = {name: float(v.sum()) for name, v in classes.items()}
    grand = sum(totals.values())
    mem_pj = sum(v for c, v in totals.items() if c in memory)
    parts = ["<h2>Energy</h2>", *_note(sec)]
    if per_layer:
        names = [ly["name"] for ly in layers]
        chart = _layer_chart("Energy per layer by component class", "energy (µJ)", names, 300)
        x, bottom = np.arange(n), np.zeros(n)
        for j, (name, v) in enumerate(per_layer.items()):
            chart.bars(x, bottom, bottom + v / 1e6, _PALETTE[j % len(_PALETTE)], name)
            bottom = bottom + v / 1e6
        parts.append(chart.img("energy-layers", "Energy per layer by component class"))
    names = list(totals)
    total = svg.Chart("Energy by component class", ylabel="energy (µJ)", width=560, height=300)
    total.categories(names)
    idx = np.arange(len(names))
    kinds = np.array([c in memory for c in names])
    values = np.array([totals[c] / 1e6 for c in names])
    for sel, colour, label in ((kinds, _MEMORY_COLOUR, "memory"), (~kinds, _COMPUTE_COLOUR, "compute")):
        if sel.any():
            total.bars(idx[sel], 0, values[sel], colour, label)
    parts.append(total.img("energy-classes", "Energy by component class"))
    rows = [
        (svg.escape(c), "memory" if c in memory else "compute", _uj(v), f"{100 * v / grand:.1f}")
        for c, v in totals.items()
    ]
    rows += [
        ("<b>memory</b>", "", _uj(mem_pj), f"{100 * mem_pj / grand:.1f}"),
        ("<b>compute</b>", "", _uj(grand - mem_pj), f"{100 * (grand - mem_pj) / grand:.1f}"),
        ("<b>total</b>", "", _uj(grand), "100.0"),
    ]
    return [*parts, _table(["class", "kind", "energy (µJ)", "share %"], rows)]


def _power_section(sec: Mapping[str, Any], layers: list) -> list[str]:
    _keys("power", sec, required=("edges_s", "power_w"), optional=("note",))
    edges = _edges("power", sec["edges_s"])
    series = _series("power", "power_w", sec["power_w"], length=edges.size - 1)
    total = sum(series.values())
    scale, unit = _time_unit(float(edges[-1]))
    e, s = _coarsen(edges, series)
    chart = svg.Chart("Power over time", xlabel=f"time ({unit})", ylabel="power (W)", width=900, height=320)
    chart.xlim = (float(e[0] * scale), float(e[-1] * scale))
    base = np.zeros(e.size - 1)
    for j, (name, v) in enumerate(s.items()):
        chart.stairs(e * scale, base, base + v, _PALETTE[j % len(_PALETTE)], name or None)
        base = base + v
    width = np.diff(edges)
    energy_j = float((total * width).sum())
    rows = [
        ("average", f"{energy_j / (edges[-1] - edges[0]):.4g} W"),
        ("peak (interval mean)", f"{float(total.max()):.4g} W"),
        ("energy", f"{_uj(energy_j * 1e12)} µJ"),
        ("intervals", f"{width.size} over {_time(float(edges[-1] - edges[0]))}"),
    ]
    return [
        "<h2>Power</h2>",
        *_note(sec),
        chart.img("power", "Power over time"),
        _table(["", ""], rows, cls="kv", header=False),
    ]


def _dvfs_section(sec: Mapping[str, Any], layers: list) -> list[str]:
    _keys("dvfs", sec, required=("edges_s", "vdd_v", "clock_hz"), optional=("note",))
    edges = _edges("dvfs", sec["edges_s"])
    vdd = _series("dvfs", "vdd_v", sec["vdd_v"], length=edges.size - 1)
    clock = _series("dvfs", "clock_hz", sec["clock_hz"], length=edges.size - 1)
    scale, unit = _time_unit(float(edges[-1]))
    parts = ["<h2>V/f timeline</h2>", *_note(sec)]
    for key, what, series, factor in (("vdd", "supply (V)", vdd, 1.0), ("clock", "clock (MHz)", clock, 1e-6)):
        e, s = _coarsen(edges, series)
        chart = svg.Chart(
            f"{what.split(' ')[0].capitalize()} over time", xlabel=f"time ({unit})", ylabel=what
        )
        chart.xlim = (float(e[0] * scale), float(e[-1] * scale))
        chart.zero = False
        for j, (name, v) in enumerate(s.items()):  # dashed differently: domains on one point coincide
            dash = _DASHES[j % len(_DASHES)]
            chart.stairs(e * scale, None, v * factor, _PALETTE[j % len(_PALETTE)], name or None, dash)
        parts.append(chart.img(f"dvfs-{key}", f"{what} over time"))
    rows = [
        (
            svg.escape(name or "-"),
            f"{float(v.min()):.3g} to {float(v.max()):.3g}",
            f"{float(clock[name].min()) / 1e6:.4g} to {float(clock[name].max()) / 1e6:.4g}"
            if name in clock
            else "",
            str(int(np.count_nonzero(np.diff(v)))),
        )
        for name, v in vdd.items()
    ]
    return [*parts, _table(["domain", "supply (V)", "clock (MHz)", "voltage changes"], rows)]


def _thermal_section(sec: Mapping[str, Any], layers: list) -> list[str]:
    _keys(
        "thermal",
        sec,
        required=(),
        optional=("png", "map_k", "peak_map_k", "peak_label", "width_mm", "height_mm", "blocks", "note"),
    )
    if ("png" in sec) == ("map_k" in sec):
        raise ValueError("thermal: give exactly one of png (PNG bytes) or map_k (a [y, x] array)")
    head = ["<h2>Thermal map</h2>", *_note(sec)]
    if "png" in sec:
        png = bytes(sec["png"])
        if not png.startswith(svg.PNG_MAGIC):
            raise ValueError("thermal: png is not PNG data (no PNG signature)")
        return [*head, svg.img("image/png", png, "thermal", "Thermal map")]
    out = [*head, _map_chart(sec, "map_k", "Steady state", "thermal")]
    if "peak_map_k" in sec:
        label = str(sec.get("peak_label", "At the peak"))
        out.append(_map_chart(sec, "peak_map_k", label, "thermal-peak"))
    return out


def _map_chart(sec: Mapping[str, Any], key: str, label: str, name: str) -> str:
    """One temperature map ``sec[key]`` ([y, x] in K, north row first) as a chart with a colour bar and the
    outlines and names of ``sec['blocks']`` (name, left, bottom, width, height; the map's units)."""
    t = np.asarray(sec[key], dtype=float)
    if t.ndim != 2 or 0 in t.shape or not np.isfinite(t).all():
        raise ValueError(f"thermal: {key} must be a non-empty, finite [y, x] array, not shape {t.shape}")
    w, h = float(sec.get("width_mm", t.shape[1])), float(sec.get("height_mm", t.shape[0]))
    unit = "mm" if "width_mm" in sec else "cells"
    c = t - 273.15
    lo, hi = float(c.min()), float(c.max())
    span = max(hi - lo, 1e-9)
    aspect = h / w if w > 0 else 1.0
    chart = svg.Chart(
        f"{label}: peak {hi:.1f} °C, mean {float(c.mean()):.1f} °C, min {lo:.1f} °C",
        xlabel=f"x ({unit})",
        ylabel=f"y ({unit})",
        width=620,
        height=int(np.clip(460 * aspect, 200, 900)) + 80,
    )
    chart.xlim, chart.ylim = (0.0, w), (0.0, h)  # y grows upwards, as in the floorplan
    chart.image(svg.png(svg.heat((c - lo) / span)), (0.0, w, 0.0, h))  # row 0 of the map is the north edge
    for name, left, bottom, width, height in sec.get("blocks", ()):
        chart.rect(left, left + width, bottom, bottom + height, str(name))
    chart.colorbar(lo, hi, "°C")
    return chart.img(name, "Thermal map")


# --------------------------------------------------------------------------- charts


def _coarsen(edges: np.ndarray, series: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """At most :data:`MAX_INTERVALS` intervals: runs where every series is constant merged, then groups of
    neighbouring runs averaged (time-weighted)."""
    width = np.diff(edges)
    values = np.stack(list(series.values()))[:, width > 0]  # [series, interval] (zero-width ones dropped)
    edges = np.append(edges[:-1][width > 0], edges[-1])
    start = np.flatnonzero(np.r_[True, (values[:, 1:] != values[:, :-1]).any(axis=0)])  # [run]
    if start.size > MAX_INTERVALS:
        start = start[np.linspace(0, start.size, MAX_INTERVALS, endpoint=False).astype(np.int64)]
    width = np.diff(edges)
    means = np.add.reduceat(values * width, start, axis=1) / np.add.reduceat(width, start)
    return np.append(edges[start], edges[-1]), dict(zip(series, means, strict=True))


# --------------------------------------------------------------------------- helpers


def _wide(layers: int) -> int:
    return int(np.clip(420 + 14 * layers, 760, 1400))


#: The legend column and the y-axis column of every per-layer chart: the same for all, so bars line up.
_LAYER_LEGEND_PX = 200
_LAYER_AXIS_PX = 80


def _layer_chart(title: str, ylabel: str, names: list[str], height: int) -> svg.Chart:
    """A chart with one slot per layer (labelled by name when few, else by index)."""
    chart = svg.Chart(title, xlabel="layer", ylabel=ylabel, width=_wide(len(names)), height=height)
    chart.categories(names)
    chart.legend_width, chart.axis_width = _LAYER_LEGEND_PX, _LAYER_AXIS_PX
    return chart


def _keys(section: str, sec: Mapping[str, Any], required: tuple, optional: tuple) -> None:
    if not isinstance(sec, Mapping):
        raise ValueError(f"{section}: the section must be a dict, not {type(sec).__name__}")
    missing = [k for k in required if k not in sec]
    if missing:
        raise ValueError(f"{section}: missing {', '.join(missing)}")
    extra = sorted(set(sec) - set(required) - set(optional))
    if extra:
        known = ", ".join((*required, *optional))
        raise ValueError(f"{section}: unknown key(s) {', '.join(extra)} (known: {known})")


def _series(section: str, key: str, value: Any, length: int | None = None) -> dict[str, np.ndarray]:
    """``{name: float array}`` from a dict of arrays or one bare array (named '')."""
    items = value.items() if isinstance(value, Mapping) else [("", value)]
    out = {}
    for name, v in items:
        a = np.asarray(v, dtype=float)
        where = f"{key}[{name!r}]" if name else key
        if length is not None and a.shape != (length,):
            raise ValueError(f"{section}: {where} has shape {a.shape}, edges_s needs ({length},)")
        if not np.isfinite(a).all():
            raise ValueError(f"{section}: {where} has values that are not finite")
        out[str(name)] = a
    if not out:
        raise ValueError(f"{section}: {key} is empty")
    return out


def _edges(section: str, value: Any) -> np.ndarray:
    e = np.asarray(value, dtype=float)
    if (
        e.ndim != 1
        or e.size < 2
        or not (np.diff(e) >= 0).all()
        or not e[-1] > e[0]
        or not np.isfinite(e).all()
    ):
        raise ValueError(f"{section}: edges_s must be non-decreasing times, the last after the first")
    return e


def _note(sec: Mapping[str, Any]) -> list[str]:
    return [f"<p>{svg.escape(str(sec['note']))}</p>"] if sec.get("note") else []


def _time_unit(end_s: float) -> tuple[float, str]:
    for scale, unit in ((1, "s"), (1e3, "ms"), (1e6, "µs")):
        if end_s >= 1 / scale:
            return scale, unit
    return 1e9, "ns"


def _time(seconds: float) -> str:
    scale, unit = _time_unit(seconds)
    return f"{seconds * scale:.4g} {unit}"


def _uj(pj: float) -> str:
    """Picojoules as microjoules, one format for a whole column."""
    return f"{pj / 1e6:,.3f}"


def _int(v: Any) -> str:
    return f"{int(v):,}"


def _table(head: list[str], rows: list, cls: str = "data", header: bool = True) -> str:
    th = "<tr>" + "".join(f"<th>{svg.escape(h)}</th>" for h in head) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    table = f'<table class="{cls}"><thead>{th}</thead><tbody>{body}</tbody></table>'
    if len(rows) <= _FOLD_ROWS:
        return table
    return f"<details open><summary>{len(rows)} rows</summary>{table}</details>"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1500px; padding: 0 1em; }
body { color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.6em 0; }
th, td { border: 1px solid #ddd; padding: 2px 6px; }
table.data td { text-align: right; } table.data td:nth-child(2) { text-align: left; }
th { background: #f2f2f2; position: sticky; top: 0; }
table.kv td:first-child { font-weight: 600; }
figure { margin: 0.4em 0; display: inline-block; vertical-align: top; }
img.plot { max-width: 100%; height: auto; }
details { margin: 0.6em 0; }
"""

#: Marks the body once every image has decoded (headless-browser checks read these attributes).
_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (im) { return im.complete && im.naturalWidth > 0; });
  document.body.setAttribute("data-images", String(imgs.length));
  document.body.setAttribute("data-images-decoded", String(ok.length));
  document.body.setAttribute("data-rendered", ok.length === imgs.length ? "yes" : "no");
});
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n<script>{_SCRIPT}</script>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
