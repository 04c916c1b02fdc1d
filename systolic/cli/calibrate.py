"""``systolic calibrate``: the calibration set on the RTL, the fit, its held-out validation, the file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from systolic.errors import InputError
from systolic.formats.calibration import (
    DEFAULT_NAME,
    calibration_text,
    default_calibration_path,
    load_calibration,
    write_calibration,
)

from .common import add_force

#: Simulation and toggle extraction of the whole calibration set, summed over the workers (README, "Energy
#: calibration": about 530 s and 66 s on 2 shared cores).
CALIBRATION_CPU_S = 600.0
#: One wide configuration (``--wide``) from scratch: the Verilator build of a 32x32 accelerator with VCD
#: tracing (250 s of CPU) and its five layers' run and toggle extraction (README, "Energy calibration").
WIDE_CONFIG_S = 700.0


def add(sub: Any) -> None:
    """Register ``systolic calibrate``."""
    p = sub.add_parser(
        "calibrate",
        help="fit the energy model's activity to RTL toggles and write the calibration file",
        description="Run the calibration set (4x4 to 16x16 arrays, every dataflow, int4/int8/int16, with and "
        "without zero gating, synthetic and real data) on the RTL under Icarus Verilog with VCD, count "
        "toggles per component class, fit the toggle model on the training layers, print the per-layer "
        "error distributions of the held-out layers (unseen shapes, data sources and array sizes) and write "
        "the calibration file that 'systolic run' reads by default.",
    )
    p.add_argument(
        "-o",
        "--out",
        metavar="FILE",
        help=f"calibration file to write (default: the packaged {DEFAULT_NAME}, which 'systolic run' reads)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the shapes, data and held-out split (0)")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="simulations at once (2)")
    p.add_argument("--build", default="build", metavar="DIR", help="build directory (build)")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="simulate every layer, even those whose toggles on the same RTL are kept in DIR/calibrate",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="exit with status 1 when the held-out layers miss the goal for the total (per layer within "
        "10%%, error of sums within 3%%); classes beyond 15%% per layer are reported",
    )
    p.add_argument(
        "--wide",
        action="store_true",
        help="also run the held-out 32x32 accelerators (WS, OS, WS with zero gating, IS; real and uniform "
        "data) on Verilator and print their tables; never fitted, not in the file; the toggles are kept in "
        "DIR/calibrate like the others'",
    )
    p.add_argument("--show", metavar="FILE", nargs="?", const="", help="print a calibration file and exit")
    add_force(p)
    p.set_defaults(func=_run)


def _run(args: Any) -> int:
    if args.show is not None:
        cal, path = load_calibration(args.show or None)
        print(f"calibration file: {path}")
        print(calibration_text(cal), end="")
        return 0
    if args.jobs < 1:
        raise InputError(f"must be at least 1, not {args.jobs}", "--jobs")
    if not 0 <= args.seed <= 2**32 - 1:
        raise InputError(f"must be in 0..{2**32 - 1}, not {args.seed}", "--seed")
    from systolic.fileio import check_output
    from systolic.flow.limits import check

    out = Path(args.out) if args.out is not None else default_calibration_path()
    check_output(out, flag="-o")
    check_output(args.build, folder=True, flag="--build")
    from systolic.cosim import calibrate as cal

    seconds = CALIBRATION_CPU_S / args.jobs
    if args.wide:  # only the configurations whose toggles are not kept yet
        seconds += WIDE_CONFIG_S * cal.wide_to_simulate(args.seed, Path(args.build))
    check("the calibration set", "--jobs", seconds=seconds, force=args.force)

    start = time.perf_counter()
    n_layers = len(cal.calibration_set(seed=args.seed))
    print(
        f"calibration set: {len(cal.FITTED_ARRAYS)} fitted and {len(cal.HELD_OUT_ARRAYS)} held-out "
        f"configurations, {n_layers} layers on Icarus Verilog (seed {args.seed}, {args.jobs} at a time)",
        flush=True,
    )
    wide = cal.WIDE_ARRAYS if args.wide else ()
    if wide:
        print(
            f"wide: {len(wide)} held-out configurations, {len(cal.wide_set(0, args.seed, wide))} layers on "
            f"{cal.WIDE_SIM} (one at a time)",
            flush=True,
        )
    result = cal.calibrate(
        seed=args.seed,
        wide=wide,
        root=Path(args.build),
        jobs=args.jobs,
        fresh=args.fresh,
        progress=lambda msg: print(msg, flush=True),
    )
    write_calibration(result.calibration, out)
    print(cal.validation_text(result))
    if wide:
        print()
        print(cal.wide_text(result))
    s = result.seconds
    print(
        f"wrote {out}; {time.perf_counter() - start:.1f} s (simulation {s['sim_s']:.1f} s, toggle extraction "
        f"{s['extract_s']:.1f} s for {s['vcd_bytes'] / 1e6:.0f} MB of VCD, "
        f"{s['vcd_bytes'] / 1e6 / max(s['extract_s'], 1e-9):.0f} MB/s; both summed over the workers)"
    )
    total, classes = cal.goal_misses(result)
    if total:
        print(f"held-out goal missed: {'; '.join(total)}")
    if classes:
        goal = f"{100 * cal.GOAL_LAYER_CLASS:.0f}%"
        print(f"held-out layers' classes beyond {goal} (a goal not met yet): {'; '.join(classes)}")
    if wide:
        wide_total, wide_classes = cal.goal_misses(result, "wide")
        misses = "; ".join([*wide_total, *wide_classes]) or "none"
        print(f"wide layers (not part of --check): goals missed: {misses}")
    return 1 if (args.check and total) else 0
