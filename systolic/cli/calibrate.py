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

#: Time per layer shape of the calibration set (README, "Energy calibration": 4 shapes, 98 to 131 s).
SECONDS_PER_SHAPE = 30.0


def add(sub: Any) -> None:
    """Register ``systolic calibrate``."""
    p = sub.add_parser(
        "calibrate",
        help="fit the energy model's activity to RTL toggles and write the calibration file",
        description="Run the calibration set (small accelerators, every dataflow, with and without zero "
        "gating, six data distributions) on the RTL under Icarus Verilog with VCD, count toggles per "
        "component class, fit the toggle model on the training layers, print the held-out validation and "
        "write the calibration file that 'systolic run' reads by default.",
    )
    p.add_argument(
        "-o",
        "--out",
        metavar="FILE",
        help=f"calibration file to write (default: the packaged {DEFAULT_NAME}, which 'systolic run' reads)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the shapes, data and held-out split (0)")
    p.add_argument(
        "--shapes", type=int, default=4, metavar="N", help="layer shapes per configuration, one held out (4)"
    )
    p.add_argument("--build", default="build", metavar="DIR", help="build directory (build)")
    p.add_argument(
        "--check",
        action="store_true",
        help="exit with status 1 when the held-out errors miss the goal (total 5%%, each class 10%%)",
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
    if args.shapes < 2:
        raise InputError(f"--shapes must be at least 2 (one is held out), not {args.shapes}", "--shapes")
    if not 0 <= args.seed <= 2**32 - 1:
        raise InputError(f"must be in 0..{2**32 - 1}, not {args.seed}", "--seed")
    from systolic.fileio import check_output
    from systolic.flow.limits import check

    out = Path(args.out) if args.out is not None else default_calibration_path()
    check_output(out, flag="-o")
    check_output(args.build, folder=True, flag="--build")
    check(
        f"the calibration set with {args.shapes} shapes per configuration",
        "--shapes",
        seconds=args.shapes * SECONDS_PER_SHAPE,
        force=args.force,
    )
    from systolic.cosim import calibrate as cal

    start = time.perf_counter()
    print(
        f"calibration set: {len(cal.CONFIGS)} configurations x {args.shapes} shapes x "
        f"{len(cal.DISTRIBUTIONS)} distributions on Icarus Verilog (seed {args.seed})",
        flush=True,
    )
    result = cal.calibrate(
        seed=args.seed,
        shapes_per_config=args.shapes,
        root=Path(args.build),
        progress=lambda msg: print(msg, flush=True),
    )
    write_calibration(result.calibration, out)
    print(cal.validation_table(result))
    s = result.seconds
    print(
        f"wrote {out}; {time.perf_counter() - start:.1f} s (simulation {s['sim_s']:.1f} s, toggle extraction "
        f"{s['extract_s']:.1f} s for {s['vcd_bytes'] / 1e6:.0f} MB of VCD, "
        f"{s['vcd_bytes'] / 1e6 / max(s['extract_s'], 1e-9):.0f} MB/s)"
    )
    errors = result.held_out_errors()
    misses = [k for k, v in errors.items() if abs(v) > (0.05 if k == "total" else 0.10)]
    if misses:
        print(f"held-out goal missed by: {', '.join(misses)} (goal: total within 5%, each class within 10%)")
    return 1 if (args.check and misses) else 0
