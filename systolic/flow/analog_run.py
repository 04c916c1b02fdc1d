"""``systolic run`` on an analog in-memory core (``--arch`` a ``kind = "analog"`` file): the same reports as
the digital array's, from the analog model.

The stages::

    AnalogConfig + Workload
      -> counts, energy, latency   per layer and class, programming           (model/analog.py)
      -> timeline                  programming, then each layer's reads        (model/analog.py)
      -> power over time           per class and floorplan block, per interval (model/power.py: integrate)
      -> temperature               the block model on the core's floorplan     (model/thermal)
      -> files                     COMPUTE_REPORT.csv, ENERGY_REPORT.csv, power.csv, .flp/.ptrace,
                                   summary.json, report.html

What the analog core does not have: DVFS and DTM (its read time and ADC rate are device and converter
limits, and no operating-point ladder is defined for them), leakage (ISAAC's table gives active power
only), SRAM/DRAM traffic (the core holds its weights; activations arrive at the rate it reads them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from systolic.analog_config import AnalogConfig
from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.fileio import atomic_write_json, atomic_write_text
from systolic.model import analog as an
from systolic.model import power
from systolic.model.floorplan import Floorplan
from systolic.workload import Workload

from . import limits
from .run import DEFAULT_INTERVALS

#: What :func:`write_analog_run` may write into its folder.
ANALOG_RUN_FILES: tuple[str, ...] = (
    "COMPUTE_REPORT.csv",
    "ENERGY_REPORT.csv",
    "power.csv",
    "power.ptrace",
    "floorplan.flp",
    "summary.json",
    "report.html",
)
#: One line on what ``systolic run`` cannot do with an analog core (printed when such an option is given).
NOT_ANALOG = (
    "the analog core has no DVFS or DTM (its read time and ADC rate are device and converter limits, with "
    "no operating-point ladder), no calibration, no SRAM/DRAM traces and no data-dependent energy"
)


@dataclass
class AnalogRun:
    """Everything :func:`analog_full_run` computed."""

    cfg: AnalogConfig
    workload: Workload
    result: an.AnalogResult
    timeline: an.AnalogTimeline
    edges_s: np.ndarray  # [interval + 1]
    power_w: np.ndarray  # [interval, class] in an.RUN_CLASSES order
    floorplan: Floorplan
    block_power_w: np.ndarray  # [interval, block]
    thermal: Any  # flow.thermal.ThermalSection or None
    summary: dict[str, Any]
    stage_s: dict[str, float]


def analog_full_run(
    cfg: AnalogConfig, wl: Workload, interval: str | None = None, thermal: bool = True, force: bool = False
) -> AnalogRun:
    """Every stage on ``wl`` (see the module docstring); ``interval`` a time (``10us``), default the run
    in :data:`~systolic.flow.run.DEFAULT_INTERVALS` intervals."""
    from systolic.model.cycles import GemmArrays

    started = time.perf_counter()
    res = an.analog_layers(cfg, GemmArrays.from_workload(wl))
    tl = an.analog_timeline(res)
    end_s = float(tl.end_s[-1])
    flp = an.analog_floorplan(cfg)
    if interval is not None and interval.strip().lower().rstrip("s").endswith("cycle"):
        raise InputError("the analog core has no clock: give a time (s, ms, us or ns)", "interval")
    clockless = ArrayConfig()  # only a length in cycles would read its clock, and those are refused above
    limits.check_intervals(clockless, end_s, interval, len(flp.names), force)
    edges = power.interval_edges_s(clockless, end_s, interval if interval else end_s / DEFAULT_INTERVALS)
    energy = power.integrate(tl.start_s, tl.end_s - tl.start_s, tl.energy_pj, edges)  # [interval, class]
    power_w = energy * 1e-12 / np.diff(edges)[:, None]
    blocks = an.block_power_w(tl, an.crossbar_share(res), edges, flp)
    stage_s = {"model": time.perf_counter() - started}
    section = None
    if thermal:
        section = _thermal(flp, blocks, float(edges[1] - edges[0]))
        stage_s["thermal"] = section.seconds
    r = AnalogRun(cfg, wl, res, tl, edges, power_w, flp, blocks, section, {}, stage_s)
    r.summary = analog_summary(r)
    return r


def _thermal(flp: Floorplan, blocks: np.ndarray, interval_s: float):
    from systolic.model.thermal import thermal_run

    from .thermal import ThermalSection

    started = time.perf_counter()
    run = thermal_run(flp, blocks, interval_s, flp.names)
    return ThermalSection(run, None, None, time.perf_counter() - started)


def analog_summary(r: AnalogRun) -> dict[str, Any]:
    """summary.json of an analog run: config, per-layer latency and energy by class, totals, power."""
    res, wl = r.result, r.workload
    layer_pj = _layer_energy_pj(r)  # [layer, class]
    layers = [
        {
            "name": layer.name,
            "m": layer.m,
            "n": layer.n,
            "k": layer.k,
            "repeat": layer.repeat,
            "macs": int(res.macs[i]),
            "crossbars": int(res.crossbars[i]),
            "waves": int(res.waves[i]),
            "compute_s": float(res.compute_s[i]),
            "program_s": float(res.program_s[i]),
            "energy_pj": {c: float(layer_pj[i, j]) for j, c in enumerate(an.RUN_CLASSES)},
        }
        for i, layer in enumerate(wl)
    ]
    total_pj = float(layer_pj.sum())
    width = np.diff(r.edges_s)
    total_w = r.power_w.sum(axis=1)
    out = {
        "kind": "analog",
        "config": r.cfg.to_dict(),
        "workload": wl.name,
        "layers": layers,
        "total": {
            "macs": int(res.macs.sum()),
            "seconds": float(r.timeline.end_s[-1]),
            "inference_s": float(res.latency_s.sum()),
            "inference_pj": float(res.inference_pj.sum()),
            "pj_per_mac": res.pj_per_mac(),
            "program_pj": float(res.program_pj.sum()),
            "weights_resident": res.resident,
            "energy_pj": total_pj,
        },
        "power": {
            "average_w": float((total_w * width).sum() / width.sum()),
            "peak_w": float(total_w.max()),
            "intervals": int(width.size),
            "interval_s": float(width[0]),
        },
        "not_modelled": NOT_ANALOG,
    }
    if r.thermal is not None:
        out["thermal"] = r.thermal.summary()
    return out


def _layer_energy_pj(r: AnalogRun) -> np.ndarray:
    """Energy of each layer by :data:`~systolic.model.analog.RUN_CLASSES` over the run ``[layer, class]``
    (programming included once)."""
    tl = r.timeline
    out = np.zeros((r.result.macs.size, len(an.RUN_CLASSES)))
    np.add.at(out, tl.layer, tl.energy_pj)
    return out


def report_lines(r: AnalogRun) -> list[str]:
    """What ``systolic run`` prints for an analog core, one line per stage."""
    c, t, p = r.cfg, r.summary["total"], r.summary["power"]
    lines = [
        f"{r.workload.name} on {c.name} (analog: {c.crossbars} crossbars of {c.rows}x{c.cols}, "
        f"{c.cell_bits}-bit cells, {c.dac_bits}-bit DACs, {c.adc_bits}-bit ADCs): {len(r.workload)} layers, "
        "inference "
        f"{t['inference_s'] * 1e6:.4g} us, {t['inference_pj'] / 1e6:.4g} uJ ({t['pj_per_mac']:.3f} pJ/MAC); "
        f"weights {'resident, programmed once' if t['weights_resident'] else 'reprogrammed every time'}"
        f": {t['program_pj'] / 1e6:.4g} uJ",
        f"power {p['average_w']:.4g} W average, {p['peak_w']:.4g} W peak over {p['intervals']} intervals "
        f"of {p['interval_s'] * 1e6:.4g} us (programming, then the layers' reads)",
    ]
    if r.thermal is not None:
        lines += r.thermal.lines()
    lines.append(f"not modelled: {NOT_ANALOG}")
    return lines


def compute_csv(r: AnalogRun) -> str:
    """COMPUTE_REPORT.csv of an analog run: per layer, its mapping and times."""
    head = "LayerID, Layer name, M, N, K, MACs, Crossbars, Waves, Read time (s), Programming time (s),"
    rows = [
        f"{i}, {ly['name']}, {ly['m']}, {ly['n']}, {ly['k']}, {ly['macs']}, {ly['crossbars']}, "
        f"{ly['waves']}, {ly['compute_s']:.6g}, {ly['program_s']:.6g},"
        for i, ly in enumerate(r.summary["layers"])
    ]
    return "\n".join([head, *rows]) + "\n"


def energy_csv(r: AnalogRun) -> str:
    """ENERGY_REPORT.csv of an analog run: per layer, energy (pJ) by class and in total."""
    head = "LayerID, Layer name, " + ", ".join(f"{c} (pJ)" for c in an.RUN_CLASSES) + ", total (pJ),"
    rows = []
    for i, ly in enumerate(r.summary["layers"]):
        e = [ly["energy_pj"][c] for c in an.RUN_CLASSES]
        rows.append(f"{i}, {ly['name']}, " + ", ".join(f"{v:.6g}" for v in e) + f", {sum(e):.6g},")
    return "\n".join([head, *rows]) + "\n"


def power_csv(r: AnalogRun) -> str:
    """power.csv of an analog run: per interval, power (W) by class and in total."""
    head = "start_s,end_s," + ",".join(f"{c}_w" for c in an.RUN_CLASSES) + ",total_w"
    rows = [
        f"{a:.6g},{b:.6g}," + ",".join(f"{v:.6g}" for v in p) + f",{p.sum():.6g}"
        for a, b, p in zip(r.edges_s[:-1], r.edges_s[1:], r.power_w, strict=True)
    ]
    return "\n".join([head, *rows]) + "\n"


def write_analog_run(r: AnalogRun, out: Path) -> list[str]:
    """Write the run's files into ``out`` (a folder the caller swaps in whole); return their names."""
    from systolic.formats.hotspot import write_power_trace
    from systolic.report.html import write_analog_html_report

    from .run import _thermal_map

    files = {
        "COMPUTE_REPORT.csv": compute_csv(r),
        "ENERGY_REPORT.csv": energy_csv(r),
        "power.csv": power_csv(r),
    }
    for name, text in files.items():
        atomic_write_text(out / name, text)
    written = [*files, *write_power_trace(out, r.cfg.name, r.floorplan, r.block_power_w)]
    atomic_write_json(out / "summary.json", r.summary)
    sections: dict[str, Any] = {
        "energy": {
            "classes_pj": {
                c: np.array([ly["energy_pj"][c] for ly in r.summary["layers"]]) for c in an.RUN_CLASSES
            },
            "memory": [],
            "note": "the analog core's components (model/analog.py; sources in systolic/analog_config.py); "
            "programming the weights once included",
        },
        "power": {
            "edges_s": r.edges_s,
            "power_w": dict(zip(an.RUN_CLASSES, r.power_w.T, strict=True)),
            "note": "programming the weights, then each layer's reads (no leakage: ISAAC gives active power)",
        },
    }
    if r.thermal is not None:
        sections["thermal"] = _thermal_map(r)
    write_analog_html_report(out / "report.html", r.summary, sections)
    return [*written, "summary.json", "report.html"]
