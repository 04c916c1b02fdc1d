"""``systolic calibrate`` and the calibration file that ``systolic run`` reads.

The calibration file holds the energy model's toggle coefficients (:class:`systolic.model.energy.Calibration`)
as JSON with sorted keys and rounded numbers, so regenerating it from the same calibration set gives the
same bytes. :func:`load_calibration` finds it: an explicit path, else ``$SYSTOLIC_CALIBRATION``, else the
packaged default ``systolic/configs/calibration.json`` (``configs/calibration.json`` in the repository,
which ``make calibrate`` regenerates).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import InputError
from .fileio import atomic_write_text, read_text

ENV_VAR = "SYSTOLIC_CALIBRATION"
DEFAULT_NAME = "calibration.json"


def default_calibration_path() -> Path:
    """The packaged calibration file (``configs/calibration.json`` in the repository)."""
    return Path(str(resources.files("systolic.configs") / DEFAULT_NAME))


def load_calibration(path: str | os.PathLike | None = None):
    """The calibration at ``path`` (else ``$SYSTOLIC_CALIBRATION``, else the packaged default) and the path
    used: ``(Calibration, Path)``. A missing or malformed file is a one-line :class:`InputError`."""
    from systolic.model.energy import Calibration

    if path is None:
        path = os.environ.get(ENV_VAR) or default_calibration_path()
    path = Path(path)
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON ({err.msg})", path, f"line {err.lineno}") from None
    return Calibration.from_dict(data, str(path)), path


def calibration_label(path: str | os.PathLike) -> str:
    """How outputs name a calibration file, the same on every machine: the packaged default by its place in
    the repository, any other file by its name and the first 12 hex digits of its content's SHA-256."""
    path = Path(path)
    if path.resolve() == default_calibration_path().resolve():
        return "configs/calibration.json"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{path.name} (sha256 {digest})"


def calibration_text(calibration) -> str:
    """The file's bytes: canonical JSON (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(calibration.to_dict(), indent=2, sort_keys=True) + "\n"


def write_calibration(calibration, path: str | os.PathLike) -> Path:
    """Write ``calibration`` atomically (temporary file, then rename)."""
    return atomic_write_text(path, calibration_text(calibration))


def add_calibrate(sub: Any) -> None:
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
    p.set_defaults(func=_run)


def _run(args: Any) -> int:
    if args.show is not None:
        cal, path = load_calibration(args.show or None)
        print(f"calibration file: {path}")
        print(calibration_text(cal), end="")
        return 0
    if args.shapes < 2:
        raise InputError(f"--shapes must be at least 2 (one is held out), not {args.shapes}", "--shapes")
    from .cosim import calibrate as cal

    out = Path(args.out) if args.out else default_calibration_path()
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
