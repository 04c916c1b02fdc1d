"""One ``systolic run``: network and config in, everything the model knows out.

The stages, each a pure model function fed by the one before::

    ArrayConfig + Workload
      -> memory model        cycles with stalls, SRAM/DRAM accesses, the timed steps   (model/memory.py)
      -> energy              per layer and component class, calibrated activity      (model/energy.py)
      -> power over time     per component and floorplan block, per interval         (model/power.py)
         (DVFS policy)       per-layer operating points under a deadline             (model/dvfs.py)
      -> temperature         steady map, transient, peak; leakage coupled; DTM  (model/thermal.py, dtm.py)
      -> bounds              roofline and Eyexam bounds per layer                    (model/bounds.py)
      -> files               SCALE-Sim reports, summary.json, power CSV and .ptrace, report.html

:func:`full_run` computes; :func:`write_run` writes into a folder the caller swaps in atomically.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from systolic.config import ArrayConfig
from systolic.fileio import atomic_write_json, atomic_write_text
from systolic.model import power
from systolic.model.energy import COMPONENT_CLASSES
from systolic.report import summary
from systolic.workload import Workload

from . import limits

if TYPE_CHECKING:
    from systolic.model.bounds import Bounds
    from systolic.model.dvfs import DvfsResult
    from systolic.model.energy import LayerEnergy
    from systolic.model.floorplan import Floorplan
    from systolic.model.network import NetworkRun

    from .thermal import ThermalSection

#: Default number of power/thermal intervals when no ``--interval`` is given.
DEFAULT_INTERVALS = 200


@dataclass(frozen=True)
class RunOptions:
    """What ``systolic run`` was asked for beyond the config and the network.

    Attributes
    ----------
    calibration : str or None
        Calibration file (None: ``$SYSTOLIC_CALIBRATION`` or the shipped ``configs/calibration.json``).
    zero_frac : float
        Share of zero operands assumed for energy (no data: uniform random operands otherwise).
    interval : str or None
        Power/thermal interval (``10us``, ``5000cycles``); default: the run in 200 intervals.
    policy : str or None
        DVFS policy (``none``, ``race``, ``deadline``, ``activity``); None runs at the nominal point.
    deadline_s : float or None
        Deadline for the policy (default: the nominal run's time).
    temp_limit_k : float or None
        Dynamic thermal management holds this peak temperature.
    thermal : bool
        Compute temperatures at all.
    memory_only : bool
        SCALE-Sim's scope only: cycles, stalls, accesses, bounds, the reports (no energy, power, thermal).
    traces : bool
        The run's files will include the SRAM and DRAM traces (their size is checked before the run).
    force : bool
        Run even when an estimate of memory, time or output size is over its budget (``flow/limits.py``).
    sample_input, profile_model : str or None
        A sample input (``.npy``) for the ONNX model ``profile_model``: energy from the data statistics of
        every layer on it (:mod:`systolic.formats.onnx_profile`) instead of the statistics-free default.
    """

    calibration: str | None = None
    zero_frac: float = 0.0
    interval: str | None = None
    policy: str | None = None
    deadline_s: float | None = None
    temp_limit_k: float | None = None
    thermal: bool = True
    memory_only: bool = False
    traces: bool = False
    force: bool = False
    sample_input: str | None = None
    profile_model: str | None = None


#: What :func:`write_run` may write into its folder (glob patterns; traces add :data:`TRACE_FILES`).
RUN_FILES: tuple[str, ...] = (
    "COMPUTE_REPORT.csv",
    "BANDWIDTH_REPORT.csv",
    "DETAILED_ACCESS_REPORT.csv",
    "ENERGY_REPORT.csv",
    "power.csv",
    "power.ptrace",
    "floorplan.flp",
    "summary.json",
    "report.html",
)
TRACE_FILES: tuple[str, ...] = ("layer[0-9]*", "layer[0-9]*/*")


@dataclass
class RunResult:
    """Everything :func:`full_run` computed (model objects, not files); the stages fill their fields in
    order, and a ``--memory-only`` run stops after :attr:`bounds`."""

    cfg: ArrayConfig
    workload: Workload  # as run: grouped convolutions in blocks (``group_blocks``)
    network: NetworkRun
    bounds: Bounds
    summary: dict[str, Any]  # summary.json; energy, power and thermal sections added by their stages
    stage_s: dict[str, float] = field(default_factory=dict)
    energy: LayerEnergy | None = None
    dvfs: DvfsResult | None = None  # always set by the power stage (the nominal plan without a policy)
    edges_s: np.ndarray | None = None  # [interval + 1]
    interval_power: power.IntervalPower | None = None
    block_power_w: np.ndarray | None = None  # [interval, block], dynamic + leakage at the reference T
    floorplan: Floorplan | None = None
    thermal: ThermalSection | None = None


class _Clock:
    """Wall time per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = now - self._last
        self._last = now


def full_run(cfg: ArrayConfig, wl: Workload, opts: RunOptions = RunOptions()) -> RunResult:
    """Run every stage of the model on ``wl`` (see the module docstring); with ``opts.memory_only``
    only the memory model and the bounds (SCALE-Sim's scope)."""
    from systolic.model.bounds import layer_bounds
    from systolic.model.grouped import lower_groups
    from systolic.model.network import network_run

    clock = _Clock()
    # grouped convolutions in blocks (group_blocks): the layers as run, and as every report names them
    wl = lower_groups(cfg, wl)
    calibration = None
    if not opts.memory_only:
        from systolic.formats.calibration import load_calibration

        calibration = load_calibration(opts.calibration)  # a bad file fails before any work
    check_cost(cfg, wl, opts)
    net = network_run(cfg, wl)
    clock.done("memory")
    if opts.traces:
        from systolic.formats.scalesim import trace_size

        rows, size = trace_size(cfg, net)
        limits.check(f"writing the traces ({rows:,} rows)", "--traces", output_bytes=size, force=opts.force)
    bounds = layer_bounds(cfg, net.gemm, net.memory)
    clock.done("bounds")
    summ = summary.run_summary(cfg, wl, net, clock.seconds["memory"])
    summ["bounds"] = bounds.to_dict()
    for i, row in enumerate(summ["layers"]):
        row["bound"] = "memory" if bool(bounds.memory_bound[i]) else "compute"
    r = RunResult(cfg, wl, net, bounds, summ, stage_s=clock.seconds)
    if opts.memory_only:
        return r
    _energy_stage(r, opts, *calibration)
    clock.done("energy")
    if opts.thermal:
        import scipy.linalg  # noqa: F401  (loads SciPy's BLAS now, so that the limit below covers it)
    from threadpoolctl import threadpool_limits

    # small dense matrices: BLAS threads cost more than they give (and thrash a loaded machine)
    with threadpool_limits(limits=1, user_api="blas"):
        _power_stage(r, opts)
        clock.done("power")
        if opts.thermal:
            _thermal_stage(r, opts)
            clock.done("thermal")
    return r


def check_cost(cfg: ArrayConfig, wl: Workload, opts: RunOptions) -> None:
    """Refuse a run whose memory model (every tile laid out) and DVFS costs (every step at every operating
    point) are over the budgets, before either is built."""
    from systolic.model import dvfs
    from systolic.model.cycles import GemmArrays
    from systolic.model.memory import BYTES_PER_TILE, SECONDS_PER_TILE, tile_count

    tiles = tile_count(cfg, GemmArrays.from_workload(wl), [layer.name for layer in wl])
    seconds, memory = tiles * SECONDS_PER_TILE, tiles * BYTES_PER_TILE
    if not opts.memory_only:
        more_s, more_bytes = dvfs.costs_cost(cfg, tiles + 2 * len(wl))
        seconds, memory = seconds + more_s, memory + more_bytes
    what = f"{wl.name} on {cfg.name} ({tiles:,} tiles of at most {cfg.rows}x{cfg.cols} PEs' work each)"
    limits.check(what, "--topology", memory_bytes=memory, seconds=seconds, force=opts.force)


def _energy_stage(r: RunResult, opts: RunOptions, calibration: Any, cal_path: Path) -> None:
    from systolic.formats.calibration import calibration_label
    from systolic.model.energy import layer_energy

    net = r.network
    stats = None
    if opts.sample_input is not None:
        from systolic.formats.onnx_profile import profile_stats

        tile_k = net.memory.schedule.plan.tk
        stats = profile_stats(r.cfg, opts.profile_model, opts.sample_input, r.workload, tile_k)
    r.energy = layer_energy(
        r.cfg, net.gemm, net.memory, calibration=calibration, zero_frac=opts.zero_frac, stats=stats
    )
    r.summary["energy"] = summary.energy_summary(r.cfg, r.energy, calibration_label(cal_path), opts.zero_frac)
    r.summary["energy"]["data"] = (
        f"profile of {Path(opts.sample_input).name} (onnxruntime)"
        if stats is not None
        else "default: independent uniform operands"
    )
    for i, row in enumerate(r.summary["layers"]):
        row["energy_pj"] = float(r.energy.energy_pj[i].sum())


def _power_stage(r: RunResult, opts: RunOptions) -> None:
    """Power over time at the nominal point or under a DVFS policy, per component and floorplan block."""
    from systolic.model import dvfs
    from systolic.model.floorplan import floorplan_blocks, floorplan_for

    cfg, net = r.cfg, r.network
    nominal_s = float(net.memory.cycles.sum()) / cfg.clock_hz
    deadline_s = opts.deadline_s if opts.deadline_s is not None else nominal_s
    blocks = floorplan_blocks(cfg)
    # the window is about known before the policy is planned: refuse before the planning, not after
    limits.check_intervals(cfg, max(nominal_s, deadline_s), opts.interval, blocks, opts.force)
    # the policies that aim at the deadline refuse one no operating point meets (plan_policy)
    r.dvfs = dvfs.run_dvfs(
        cfg,
        net.gemm,
        net.schedule,
        opts.policy or "none",
        deadline_s,
        layer_dynamic_pj=r.energy.by_activity_pj,
    )
    timeline = r.dvfs.timeline
    end_s = timeline.window_s
    limits.check_intervals(cfg, end_s, opts.interval, blocks, opts.force)
    r.edges_s = power.interval_edges_s(
        cfg, end_s, opts.interval if opts.interval else end_s / DEFAULT_INTERVALS
    )
    r.interval_power = power.interval_power(timeline, r.edges_s)
    r.floorplan = floorplan_for(cfg)
    r.block_power_w = power.block_power_w(timeline, r.edges_s, r.floorplan)
    r.summary["power"] = summary.power_summary(r.interval_power, r.dvfs, opts.policy)


def _thermal_stage(r: RunResult, opts: RunOptions) -> None:
    """Temperatures from each block's dynamic power per interval and its leakage at the reference
    temperature, coupled to temperature; DTM when a limit is given."""
    from systolic.flow.thermal import thermal_section
    from systolic.model import power

    timeline, edges, flp = r.dvfs.timeline, r.edges_s, r.floorplan
    no_leak = dataclasses.replace(timeline, leakage_pj=np.zeros_like(timeline.leakage_pj))
    dynamic = power.block_power_w(no_leak, edges, flp)
    width = np.diff(edges)
    leak_ref = ((r.block_power_w - dynamic) * width[:, None]).sum(axis=0) / width.sum()
    r.thermal = thermal_section(
        r.cfg, dynamic, float(width[0]), flp.names, leakage=leak_ref, limit_k=opts.temp_limit_k, region="auto"
    )
    r.summary["thermal"] = r.thermal.summary()


def html_sections(r: RunResult) -> dict[str, Any]:
    """The optional sections of the HTML report (see ``systolic/report/html.py``)."""
    e = r.energy
    if e is None:  # --memory-only
        return {}
    sections: dict[str, Any] = {
        "energy": {
            "classes_pj": {c: e.energy_pj[:, i] for i, c in enumerate(COMPONENT_CLASSES)},
            "note": f"calibrated activity ({r.summary['energy']['calibration']}), zero fraction "
            f"{r.summary['energy']['zero_frac']:g}",
        },
        "power": {
            "edges_s": r.interval_power.edges_s,
            "power_w": dict(zip(power.COLUMNS, r.interval_power.power_w.T, strict=True)),
        },
    }
    if "dvfs" in r.summary["power"]:
        d = r.summary["power"]["dvfs"]
        plan = (
            f"{d['energy_j'] * 1e3:.4g} mJ to the deadline ({d['nominal_energy_j'] * 1e3:.4g} mJ at the "
            "nominal point over the same window)"
        )
        sections["energy"]["note"] += (
            f"; at the nominal operating point (the {d['policy']} DVFS plan: {plan}; see Power)"
        )
        sections["power"]["note"] = f"under the {d['policy']} DVFS policy: {plan}"
        ip = r.interval_power
        sections["dvfs"] = {
            "edges_s": ip.edges_s,
            "vdd_v": dict(zip(power.PARTS, ip.v_part.T, strict=True)),
            "clock_hz": dict(zip(power.PARTS, ip.f_part.T, strict=True)),
        }
    if r.thermal is not None:
        sections["thermal"] = _thermal_map(r)
    return sections


def _thermal_map(r: RunResult, pixels: int = 240) -> dict[str, Any]:
    """Block temperatures rasterised over the floorplan (for the HTML report): the steady state at average
    power, and the transient's interval with the peak temperature."""
    flp, run = r.floorplan, r.thermal.run
    left, bottom = flp.left_m, flp.bottom_m
    right, top = left + flp.width_m, bottom + flp.height_m
    w, h = float(right.max()), float(top.max())
    nx = pixels
    ny = max(1, round(pixels * h / w))
    xs = (np.arange(nx) + 0.5) * w / nx  # [x]
    ys = h - (np.arange(ny) + 0.5) * h / ny  # [y] north row first
    inside_x = (xs[None, :] >= left[:, None]) & (xs[None, :] < right[:, None])  # [block, x]
    inside_y = (ys[None, :] >= bottom[:, None]) & (ys[None, :] < top[:, None])  # [block, y]
    owner = np.argmax(inside_y[:, :, None] & inside_x[:, None, :], axis=0)  # [y, x] first block covering
    peak = run.transient_k[run.peak_row]  # [block]
    return {
        "map_k": run.steady_k[owner],
        "peak_map_k": peak[owner],
        "peak_label": f"At {run.peak_time_s * 1e3:.4g} ms (the peak)",
        "width_mm": w * 1e3,
        "height_mm": h * 1e3,
        "blocks": [
            (name, float(x) * 1e3, float(y) * 1e3, float(bw) * 1e3, float(bh) * 1e3)
            for name, x, y, bw, bh in zip(flp.names, left, bottom, flp.width_m, flp.height_m, strict=True)
        ],
        "note": f"hottest block {run.peak_block} reaches {run.peak_k - 273.15:.2f} °C at "
        f"{run.peak_time_s * 1e3:.4g} ms in the transient; steady state at average power",
    }


def write_run(r: RunResult, out: Path, traces: bool = False) -> list[str]:
    """Write the run's files into ``out`` (a folder the caller swaps in whole); return their names."""
    from systolic.formats import scalesim
    from systolic.report.html import write_html_report

    written = []
    for name, text in scalesim.report_texts(r.cfg, r.workload, r.network).items():
        atomic_write_text(out / name, text)
        written.append(name)
    if r.energy is not None:
        from systolic.formats.hotspot import write_power_trace

        atomic_write_text(out / "ENERGY_REPORT.csv", summary.energy_csv(r.workload, r.energy))
        atomic_write_text(out / "power.csv", summary.timeline_csv(r.interval_power))
        written += ["ENERGY_REPORT.csv", "power.csv"]
        written += write_power_trace(out, r.cfg.name, r.floorplan, r.block_power_w)
    stable = {k: v for k, v in r.summary.items() if k != "model_seconds"}
    atomic_write_json(out / "summary.json", stable)
    write_html_report(out / "report.html", r.summary, r.bounds, html_sections(r))
    written += ["summary.json", "report.html"]
    if traces:
        rows = scalesim.write_traces(r.cfg, r.workload, r.network, out)
        written.append(f"layer<i>/*_TRACE.csv ({rows:,} rows)")
    return written
