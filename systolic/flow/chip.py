"""One ``systolic run`` on a tiled chip: share costs, mappings (sequential, pipelined or searched), the
pipeline schedule with its bubbles, per-tile power over time, the grid thermal transient and, with a
temperature limit, per-tile DTM (DVFS against migration) against the unmanaged run.

Stages (each a pure model function, ``model/chip``)::

    ChipConfig + Workload
      -> share costs        per layer and tile count: cycles, energy, DRAM words  (costs.py)
      -> mappings           one, or a search over many, evaluated at once        (mapping.py, schedule.py)
      -> Gantt and power    busy / blocked / starved per tile, power per interval (thermal.py)
      -> temperature        grid-model transient from the steady state; DTM       (thermal.py, dtm.py)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from systolic.chip_config import ChipConfig
from systolic.errors import InputError
from systolic.fileio import atomic_write_json, atomic_write_text
from systolic.model.chip import dtm as chip_dtm
from systolic.model.chip import mapping as mp
from systolic.model.chip import thermal as th
from systolic.model.chip.costs import TileCosts, tile_costs
from systolic.model.cycles import GemmArrays
from systolic.workload import Workload

from . import limits

MAPPINGS = ("pipelined", "sequential", "search")
OBJECTIVES = ("throughput", "latency", "energy", "temperature")
#: What :func:`write_chip_run` may write into its folder.
CHIP_FILES: tuple[str, ...] = ("summary.json", "gantt.csv", "power.csv", "floorplan.flp", "report.html")
#: Bytes of the search's arrays per mapping, server and item (starts, departures, finishes).
_BYTES_PER_SLOT = 3 * 8


@dataclass(frozen=True)
class ChipOptions:
    """What a chip run was asked for.

    Attributes
    ----------
    mapping : str
        ``pipelined``, ``sequential`` or ``search``.
    items : int
        Batch items in flight through the pipeline.
    count : int
        Random mappings the search evaluates (besides the sequential and pipelined ones).
    seed : int
        The search's seed.
    objective : str
        What the search minimises: the batch's time (``throughput``), the first item's (``latency``),
        ``energy``, or the block model's steady peak temperature (``temperature``: thermal-aware placement).
    temp_limit_k : float or None
        Per-tile DTM holds this peak temperature.
    intervals : int
        Power and thermal intervals over the run.
    thermal : bool
        Compute temperatures at all.
    """

    mapping: str = "pipelined"
    items: int = 8
    count: int = 1000
    seed: int = 0
    objective: str = "throughput"
    temp_limit_k: float | None = None
    intervals: int = 200
    thermal: bool = True
    force: bool = False

    def __post_init__(self) -> None:
        if self.mapping not in MAPPINGS:
            raise InputError(f"must be one of {', '.join(MAPPINGS)}, not '{self.mapping}'", "--mapping")
        if self.objective not in OBJECTIVES:
            raise InputError(f"must be one of {', '.join(OBJECTIVES)}, not '{self.objective}'", "--objective")
        for flag, value, lo in (
            ("--items", self.items, 1),
            ("--mappings", self.count, 1),
            ("--intervals", self.intervals, 2),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise InputError(f"must be an integer of at least {lo}, not {value!r}", flag)
        if self.temp_limit_k is not None and not self.thermal:
            raise InputError(
                "a temperature limit needs the thermal model (drop --no-thermal)", "--temp-limit-c"
            )


@dataclass
class ChipResult:
    """Everything :func:`chip_run` computed."""

    chip: ChipConfig
    workload: Workload
    opts: ChipOptions
    costs: TileCosts
    candidates: mp.Evaluation
    steady_peak_k: np.ndarray  # [candidate]
    best: int
    chosen: mp.Evaluation
    gantt: th.Gantt
    edges_s: np.ndarray
    power_w: np.ndarray  # [interval, tile]
    thermal: th.ChipThermal | None = None
    managed: dict[str, chip_dtm.Managed] = field(default_factory=dict)
    stage_s: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return chip_summary(self)


def check_cost(chip: ChipConfig, wl: Workload, opts: ChipOptions) -> None:
    """Refuse a search whose arrays are over the memory budget before they are built."""
    count = opts.count + 2 if opts.mapping == "search" else 1
    slots = count * (2 * chip.tiles - 1) * opts.items
    limits.check(
        f"{count:,} mappings of {wl.name} on {chip.rows}x{chip.cols} tiles over {opts.items} items",
        "--mappings",
        memory_bytes=slots * _BYTES_PER_SLOT * 4,
        seconds=slots * 2e-8,
        force=opts.force,
    )


def _candidates(chip: ChipConfig, costs: TileCosts, opts: ChipOptions) -> mp.Mappings:
    seq, pipe = mp.sequential(chip, costs.layers), mp.pipelined(chip, costs, opts.items)
    if opts.mapping == "sequential":
        return seq
    if opts.mapping == "pipelined":
        return pipe
    rand = mp.random_mappings(chip, costs, opts.count, opts.seed)
    return mp.Mappings(
        *(np.concatenate([getattr(x, f) for x in (seq, pipe, rand)]) for f in ("stage_of", "tiles", "order"))
    )


def _pick(ev: mp.Evaluation, peak_k: np.ndarray, objective: str) -> int:
    key = {
        "throughput": ev.makespan_cycles,
        "latency": ev.latency_cycles,
        "energy": ev.energy_pj,
        "temperature": peak_k,
    }[objective]
    # ties broken by the batch's time, then by index (np.lexsort's last key is the primary one)
    return int(np.lexsort((np.arange(key.size), ev.makespan_cycles, key))[0])


def chip_run(
    chip: ChipConfig, wl: Workload, opts: ChipOptions, calibration
) -> ChipResult:  # long: the stages in order
    """Run every stage (module docstring) of ``wl`` on ``chip``; ``calibration`` from
    :func:`systolic.formats.calibration.load_calibration`."""
    from threadpoolctl import threadpool_limits

    check_cost(chip, wl, opts)
    clock = time.perf_counter()
    stage_s: dict[str, float] = {}

    def done(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stage_s[name], clock = now - clock, now

    with threadpool_limits(limits=1, user_api="blas"):
        costs = tile_costs(
            chip.lane_tile(), GemmArrays.from_workload(wl), chip.tiles, calibration=calibration
        )
        done("costs")
        maps = _candidates(chip, costs, opts)
        ev = mp.evaluate(chip, costs, maps, opts.items)
        params = th.default_params()
        influence = th.influence_k_per_w(chip, params)
        peak = th.steady_peak_k(ev, influence, params.ambient_k)
        best = _pick(ev, peak, opts.objective)
        done("mapping")
        chosen = mp.evaluate(chip, costs, maps.take(best), opts.items)
        g = th.gantt(chosen, 0)
        edges = np.linspace(0.0, g.makespan_s, opts.intervals + 1)
        power = th.tile_power_w(g, edges)
        done("power")
        r = ChipResult(chip, wl, opts, costs, ev, peak, best, chosen, g, edges, power, stage_s=stage_s)
        if opts.thermal:
            r.thermal = th.grid_transient(chip, power, float(edges[1]), params)
            done("thermal")
        if opts.temp_limit_k is not None:
            problem = chip_dtm.Problem(
                chip, costs, maps.take(best), opts.items, opts.temp_limit_k, influence, opts.intervals, params
            )
            base = chip_dtm.unmanaged(problem)
            r.managed = {
                "none": base,
                "dvfs": chip_dtm.per_tile_dvfs(problem, base),
                "migration": chip_dtm.migration(problem, base),
            }
            done("dtm")
    return r


def _pareto(ev: mp.Evaluation) -> int:
    """Mappings no other beats in the batch's time and energy both."""
    t, e = ev.makespan_cycles, ev.energy_pj
    order = np.lexsort((e, t))
    best_e = np.minimum.accumulate(e[order])
    return int((e[order] <= np.concatenate([[np.inf], best_e[:-1]])).sum())


def _stages(r: ChipResult) -> list[dict[str, Any]]:
    """Per stage of the chosen mapping: its layers and tiles, cycles per item, and its share of the run
    busy, blocked and starved."""
    ev, g = r.chosen, r.gantt
    totals = g.totals_s()
    return [
        {
            "layers": [int(x) for x in np.flatnonzero(ev.maps.stage_of[0] == s)[[0, -1]]],
            "tiles": int(ev.maps.tiles[0, s]),
            "tile_ids": [int(t) for t in np.flatnonzero(g.tile_stage == s)],
            "cycles_per_item": float(ev.stage_cycles[0, s]),
            "busy": round(float(totals["busy"][s] / g.makespan_s), 6),
            "dram_stalled": round(float(totals["dram"][s] / g.makespan_s), 6),
            "blocked": round(float(totals["blocked"][s] / g.makespan_s), 6),
            "starved": round(float(totals["starved"][s] / g.makespan_s), 6),
        }
        for s in range(g.stages)
    ]


def chip_summary(r: ChipResult) -> dict[str, Any]:
    """JSON-ready numbers of a chip run (no wall times: the same inputs give the same bytes)."""
    c, ev = r.chip, r.chosen
    hz = c.clock_hz
    out: dict[str, Any] = {
        "chip": {
            "name": c.name,
            "tiles": [c.rows, c.cols],
            "tile": c.tile.name,
            "noc": {
                "topology": c.topology,
                "link_words_per_cycle": c.link_words_per_cycle,
                "hop_cycles": c.hop_cycles,
                "fifo_depth": c.fifo_depth,
            },
            "dram": {
                "channels": c.dram_channels,
                "words_per_cycle": c.dram_words_per_cycle,
                "lane_words_per_cycle": c.lane_words_per_cycle,
            },
        },
        "workload": {"name": r.workload.name, "layers": len(r.workload), "items": r.opts.items},
        "mapping": {
            "kind": r.opts.mapping,
            "objective": r.opts.objective,
            "evaluated": r.candidates.maps.count,
            "pareto_time_energy": _pareto(r.candidates),
            "stages": _stages(r),
        },
        "total": {
            "makespan_cycles": int(ev.makespan_cycles[0]),
            "latency_cycles": int(ev.latency_cycles[0]),
            "seconds": float(ev.makespan_cycles[0]) / hz,
            "items_per_s": float(ev.throughput_per_s[0]),
            "energy_j": float(ev.energy_pj[0]) * 1e-12,
            "energy_per_item_j": float(ev.energy_pj[0]) * 1e-12 / r.opts.items,
        },
        "power": {
            "average_w": float(r.power_w.sum(axis=1).mean()),
            "peak_w": float(r.power_w.sum(axis=1).max()),
            "peak_tile_w": float(r.power_w.max()),
            "intervals": int(r.power_w.shape[0]),
        },
    }
    if r.opts.mapping == "search":  # candidates 0 and 1 are the two fixed mappings (_candidates)
        cand = r.candidates
        out["mapping"]["baselines"] = {
            name: {
                "makespan_cycles": int(cand.makespan_cycles[i]),
                "energy_j": float(cand.energy_pj[i]) * 1e-12,
            }
            for i, name in enumerate(("sequential", "pipelined"))
        }
    if r.thermal is not None:
        out["thermal"] = {
            "model": "grid",
            "peak_k": round(r.thermal.peak_k, 4),
            "peak_tile": th.tile_name(c, r.thermal.peak_tile),
            "steady_search_estimate_k": round(float(r.steady_peak_k[r.best]), 4),
        }
    if r.managed:
        base = r.managed["none"]
        out["dtm"] = {"limit_k": r.opts.temp_limit_k}
        for name, m in r.managed.items():
            out["dtm"][name] = {
                "peak_k": round(m.thermal.peak_k, 4),
                "held": bool(m.held),
                "seconds": m.makespan_s,
                "energy_j": m.energy_j,
                "time_cost": m.makespan_s / base.makespan_s - 1.0,
                "energy_cost": m.energy_j / base.energy_j - 1.0,
                "transitions": m.transitions,
            }
    return out


def report_lines(r: ChipResult) -> list[str]:
    """What ``systolic run`` prints for a chip."""
    s, c = r.summary(), r.chip
    t, m = s["total"], s["mapping"]
    lines = [
        f"{r.workload.name} on {c.name} ({c.rows}x{c.cols} tiles of {c.tile.name}, {c.topology} NoC): "
        f"{r.opts.mapping} mapping of {len(r.workload)} layers in {len(m['stages'])} stages "
        f"(best of {m['evaluated']:,} by {r.opts.objective}); {r.opts.items} items in "
        f"{t['makespan_cycles']:,} cycles ({t['seconds'] * 1e3:.3f} ms, {t['items_per_s']:.1f} items/s), "
        f"first item {t['latency_cycles']:,} cycles",
        "stages: " + r.chosen.maps.describe(0),
        f"energy {t['energy_j'] * 1e3:.4g} mJ ({t['energy_per_item_j'] * 1e3:.4g} mJ per item); "
        "power on the die "
        f"{s['power']['average_w']:.3f} W average, {s['power']['peak_w']:.3f} W peak, hottest tile "
        f"{s['power']['peak_tile_w']:.3f} W",
    ]
    if "baselines" in m:
        b = m["baselines"]
        lines.append(
            f"against layer-sequential {b['sequential']['makespan_cycles']:,} cycles, "
            f"{b['sequential']['energy_j'] * 1e3:.4g} mJ and the pipelined heuristic "
            f"{b['pipelined']['makespan_cycles']:,} cycles, {b['pipelined']['energy_j'] * 1e3:.4g} mJ"
        )
    busy = np.array([st["busy"] for st in m["stages"]])
    stalled = np.array([st["dram_stalled"] for st in m["stages"]])
    lines.append(
        f"stages computing {100 * busy.min():.1f}-{100 * busy.max():.1f}% and stalled on their DRAM lanes "
        f"{100 * stalled.min():.1f}-{100 * stalled.max():.1f}% of the run (the rest: bubbles, blocking)"
    )
    if "thermal" in s:
        th_ = s["thermal"]
        lines.append(f"thermal (grid model): peak {th_['peak_k'] - 273.15:.2f} C on {th_['peak_tile']}")
    if "dtm" in s:
        d = s["dtm"]
        for name in ("none", "dvfs", "migration"):
            x = d[name]
            lines.append(
                f"DTM {name}: peak {x['peak_k'] - 273.15:.2f} C against {d['limit_k'] - 273.15:.2f} C "
                f"({'held' if x['held'] else 'EXCEEDED'}), time {100 * x['time_cost']:+.1f}%, energy "
                f"{100 * x['energy_cost']:+.1f}%"
            )
    lines.append("model stages " + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in r.stage_s.items()))
    return lines


def gantt_csv(r: ChipResult) -> str:
    """``tile,stage,item,state,start_s,end_s`` per interval of every tile (starved, busy, dram_stall,
    blocked)."""
    g, rows = r.gantt, ["tile,stage,item,state,start_s,end_s"]
    computed = g.computed_s()
    for t in range(r.chip.tiles):
        s = int(g.tile_stage[t])
        if s < 0:
            continue
        for b in range(g.start_s.shape[1]):
            for state, a, e in (
                ("starved", g.free_s[s, b], g.start_s[s, b]),
                ("busy", g.start_s[s, b], computed[s, b]),
                ("dram_stall", computed[s, b], g.finish_s[s, b]),
                ("blocked", g.finish_s[s, b], g.depart_s[s, b]),
            ):
                if e > a:
                    rows.append(f"{th.tile_name(r.chip, t)},{s},{b},{state},{a:.9g},{e:.9g}")
    return "\n".join(rows) + "\n"


def power_csv(r: ChipResult) -> str:
    names = [th.tile_name(r.chip, t) for t in range(r.chip.tiles)]
    rows = ["start_s,end_s," + ",".join(f"{n}_w" for n in names)]
    for i in range(r.power_w.shape[0]):
        vals = ",".join(f"{v:.6g}" for v in r.power_w[i])
        rows.append(f"{r.edges_s[i]:.9g},{r.edges_s[i + 1]:.9g},{vals}")
    return "\n".join(rows) + "\n"


def write_chip_run(r: ChipResult, out: Path) -> list[str]:
    """Write the run's files into ``out`` (a folder the caller swaps in whole); return their names."""
    from systolic.formats.hotspot import format_flp
    from systolic.report.chip import chip_html

    atomic_write_json(out / "summary.json", r.summary())
    atomic_write_text(out / "gantt.csv", gantt_csv(r))
    atomic_write_text(out / "power.csv", power_csv(r))
    atomic_write_text(
        out / "floorplan.flp", format_flp(th.chip_floorplan(r.chip), f"{r.chip.name}: one block per tile")
    )
    atomic_write_text(
        out / "report.html", chip_html(r.summary(), r.gantt, r.edges_s, r.power_w, r.thermal, r.chip)
    )
    return list(CHIP_FILES)


def run_chip_args(args: Any) -> int:
    """``systolic run`` on a chip from parsed arguments: run, print, write ``--out``."""
    from systolic.chip_config import load_chip
    from systolic.fileio import OutputDir, check_output
    from systolic.formats.calibration import load_calibration
    from systolic.formats.network import load_workload

    for flag, given in (
        ("--set", bool(args.overrides)),
        ("--traces", args.traces),
        ("--policy", args.policy is not None),
        ("--memory-only", args.memory_only),
        ("--sample-input", args.sample_input is not None),
        ("--interval", args.interval is not None),
        ("--deadline-ms", args.deadline_ms is not None),
        ("--zero-frac", args.zero_frac != 0.0),
    ):
        if given:
            raise InputError("not for a chip (set the tile's fields in its own TOML)", flag)
    opts = ChipOptions(
        mapping=args.mapping or "pipelined",
        items=8 if args.items is None else args.items,
        count=1000 if args.mappings is None else args.mappings,
        objective=args.objective or "throughput",
        temp_limit_k=None if args.temp_limit_c is None else args.temp_limit_c + 273.15,
        thermal=not args.no_thermal,
        force=bool(args.force),
    )
    from systolic.formats.calibration import calibration_path

    inputs = [str(args.arch), str(calibration_path(args.calibration))]
    inputs += [args.net] if Path(args.net).is_file() else []
    if args.out is not None:
        check_output(args.out, inputs, folder=True, names=CHIP_FILES)
    chip = load_chip(args.arch)
    params = {
        k: getattr(args, k)
        for k in ("seq_len", "batch", "context", "phase")
        if getattr(args, k, None) is not None
    }
    wl = load_workload(args.net, **params)
    calibration, _ = load_calibration(args.calibration)
    r = chip_run(chip, wl, opts, calibration)
    for line in report_lines(r):
        print(line)
    if args.out is not None:
        with OutputDir(args.out) as tmp:
            written = write_chip_run(r, tmp)
        print(f"wrote {', '.join(written)} to {Path(args.out)}")
    return 0
