"""``systolic sweep`` of ``kind = "chip"``: tiled chips over tile count, tile size and NoC, the best
mapping of one network at every point, on Dask, resumable, with the Pareto front of time, energy and area.

The spec (TOML)::

    kind = "chip"
    chip = "chip-4x4.toml"           # a chip TOML (relative to the spec, or configs/chip-4x4.toml)
    network = "resnet18"             # a zoo name or topology file (relative to the spec)
    mapping = "search"               # pipelined | sequential | search, as in systolic run
    mappings = 200                   # random mappings per point (search)
    items = 8                        # batch items in flight
    objective = "throughput"         # what the search minimises at each point
    mode = "grid"                    # or "random" with samples and seed, as in any sweep

    [space]                          # the axes (:data:`AXES`), lists of values
    rows = [2, 4]                    # the tile grid
    cols = [2, 4]
    array_rows = [16, 32]            # the size of every tile's array
    array_cols = [16, 32]
    link_words_per_cycle = [4, 8, 16]

Each point runs :func:`systolic.flow.chip.chip_run` without the grid transient (the search's steady peak
temperature is reported); the rest (parts per batch, resume, points/pareto files, summary) is
:func:`systolic.flow.sweep.execute`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from systolic.chip_config import ChipConfig, load_chip
from systolic.errors import InputError

from .chip import MAPPINGS, OBJECTIVES, ChipOptions
from .sweep import check_grid, check_keys, design_points, execute, prepare_out, sampling, spec_digest

SPEC_KEYS = {
    "kind",
    "chip",
    "network",
    "mapping",
    "mappings",
    "items",
    "objective",
    "mode",
    "samples",
    "seed",
}
SPEC_KEYS |= {"batch", "space"}
#: Axis -> what it sets (a ChipConfig field, or the tile's ArrayConfig field).
AXES = {
    "rows": "chip",
    "cols": "chip",
    "link_words_per_cycle": "chip",
    "hop_cycles": "chip",
    "fifo_depth": "chip",
    "dram_channels": "chip",
    "dram_words_per_cycle": "chip",
    "array_rows": "tile",
    "array_cols": "tile",
}
#: Wall time of one point (share costs, the search, no transient): 0.6 s measured on ResNet-18 and
#: chip-4x4 with 200 mappings on one idle core, 1.5 s loaded; rounded up.
SECONDS_PER_POINT = 2.0
COLUMNS = ("makespan_s", "latency_s", "items_per_s", "energy_j", "area_mm2", "steady_peak_k", "stages")
SWEEP_OBJECTIVES = ("makespan_s", "energy_j", "area_mm2")


@dataclass(frozen=True)
class ChipSweepSpec:
    """A parsed, checked chip sweep spec (see the module docstring)."""

    path: Path
    chip: ChipConfig
    network: str
    opts: ChipOptions
    mode: str
    samples: int
    seed: int
    batch: int
    space: tuple[tuple[str, tuple[Any, ...]], ...]
    kind: str = "chip"
    int_fields: frozenset[str] = frozenset(AXES)

    @property
    def digest(self) -> str:
        """Identity of what the sweep computes (chip, network, options, points): resume checks it."""
        return spec_digest(self, chip=repr(self.chip), network=self.network, opts=repr(self.opts))


def point_chip(base: ChipConfig, values: dict[str, Any]) -> ChipConfig:
    """The chip of one point: its ChipConfig fields and its tile's array size replaced."""
    tile_changes = {k[len("array_") :]: v for k, v in values.items() if AXES[k] == "tile"}
    chip = base.replace(**{k: v for k, v in values.items() if AXES[k] == "chip"})
    for k, v in values.items():
        if AXES[k] == "chip" and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise InputError(f"must be a positive integer, not {v!r}", where=k)
    if tile_changes:
        chip = chip.replace(tile=chip.tile.replace(**tile_changes))
    try:
        chip.lane_tile()
    except ValueError as err:
        raise InputError(str(err), where="dram_words_per_cycle") from None
    return chip


def _file_or_name(path: Path, name: str) -> str:
    near = path.parent / name
    return str(near) if near.is_file() else name


def load_chip_spec(path: Path, data: dict[str, Any]) -> ChipSweepSpec:
    """Check a chip sweep spec already read from ``path``; every problem is one line naming the key."""
    check_keys(data, path, SPEC_KEYS)
    for key in ("chip", "network"):
        if not isinstance(data.get(key), str):
            raise InputError("missing, or not a string", path, key)
    chip_path = Path(_file_or_name(path, data["chip"]))
    if not chip_path.is_file():
        raise InputError(f"no such chip file '{data['chip']}'", path, "chip")
    chip = load_chip(chip_path)
    try:
        opts = ChipOptions(
            mapping=data.get("mapping", "search"),
            items=data.get("items", 8),
            count=data.get("mappings", 200),
            objective=data.get("objective", "throughput"),
            thermal=False,
        )
    except InputError as err:
        key = {"--mapping": "mapping", "--items": "items", "--mappings": "mappings"}.get(
            err.source, "objective"
        )
        raise InputError(err.what, path, key) from None
    mode, samples, seed, batch = sampling(data, path, 4)
    raw = data.get("space")
    if not isinstance(raw, dict) or not raw:
        raise InputError("missing or empty: give at least one axis and its values", path, "space")
    space = []
    for key, values in raw.items():
        where = f"space.{key}"
        if key not in AXES:
            raise InputError(f"not a chip sweep axis (known: {', '.join(AXES)})", path, where)
        if not isinstance(values, list) or not values:
            raise InputError(f"must be a non-empty list of values, not {values!r}", path, where)
        for v in values:
            try:
                point_chip(chip, {key: v})
            except (InputError, TypeError) as err:
                what = err.what if isinstance(err, InputError) else "the wrong type"
                raise InputError(f"value {v!r}: {what}", path, where) from None
        space.append((key, tuple(values)))
    check_grid(space, mode, path)
    network = _file_or_name(path, data["network"])
    return ChipSweepSpec(path, chip, network, opts, mode, samples, seed, batch, tuple(space))


def run_chip_batch(points: list[dict[str, Any]], shared: tuple) -> dict[str, np.ndarray]:
    """Evaluate one batch of points (runs on a Dask worker); ``shared``: (base chip, workload, options,
    calibration)."""
    from systolic.model.floorplan import floorplan_for

    from .chip import chip_run

    base, wl, opts, calibration = shared
    cols = {c: np.full(len(points), np.nan) for c in COLUMNS}
    errors = np.full(len(points), "", dtype=object)
    for j, values in enumerate(points):
        try:
            chip = point_chip(base, values)
            r = chip_run(chip, wl, opts, calibration)
        except InputError as err:
            errors[j] = err.what
            continue
        ev, hz = r.chosen, chip.clock_hz
        flp = floorplan_for(chip.tile)
        row = {
            "makespan_s": ev.makespan_cycles[0] / hz,
            "latency_s": ev.latency_cycles[0] / hz,
            "items_per_s": ev.throughput_per_s[0],
            "energy_j": ev.energy_pj[0] * 1e-12,
            "area_mm2": chip.tiles * flp.chip_width_m * flp.chip_height_m * 1e6,
            "steady_peak_k": r.steady_peak_k[r.best],
            "stages": ev.maps.stages[0],
        }
        for c, v in row.items():
            cols[c][j] = float(v)
    return {**cols, "error": errors}


def run_chip_sweep(  # long: the budget, the inputs and the shared execution in order
    spec: ChipSweepSpec,
    out: Path,
    scheduler: str | None = None,
    workers: int = 2,
    progress: bool = True,
    force: bool = False,
    warn: Any = None,
) -> dict[str, Any]:
    """Run (or resume) the chip sweep into ``out``; returns the summary. Over the time budget
    (``flow/limits.py``, :data:`SECONDS_PER_POINT`) it is refused before any work unless ``force``."""
    from systolic.formats.calibration import load_calibration
    from systolic.formats.network import load_workload

    from . import limits

    start = time.perf_counter()
    points = design_points(spec)
    seconds = len(points) * SECONDS_PER_POINT / max(1, workers)
    limits.check(f"the sweep ({len(points):,} points)", spec.path.name, seconds=seconds, force=force)
    out = prepare_out(spec, out)
    wl = load_workload(spec.network)
    calibration, cal_path = load_calibration()
    plan = [np.arange(s, min(s + spec.batch, len(points))) for s in range(0, len(points), spec.batch)]

    def payload(b: int) -> list[dict[str, Any]]:
        return [points[i] for i in plan[b]]

    label = Path(spec.network).stem if Path(spec.network).is_file() else spec.network
    extra = {"kind": "chip", "chip": spec.chip.name, "networks": [label], "calibration": cal_path.name}
    work = (run_chip_batch, payload, (spec.chip, wl, spec.opts, calibration))
    errors = [""] * len(points)
    summary = execute(
        spec, out, points, errors, plan, work, SWEEP_OBJECTIVES, extra, scheduler, workers, progress
    )
    return {**summary, "seconds": time.perf_counter() - start}


__all__ = ["MAPPINGS", "OBJECTIVES", "ChipSweepSpec", "load_chip_spec", "run_chip_sweep"]
