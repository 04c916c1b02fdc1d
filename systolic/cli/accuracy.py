"""``systolic accuracy``: what a quantized network gets right on the digital array and on a noisy analog core.

``systolic accuracy --network digits-cnn --arch analog-ternary --noise 0,0.05,0.1,0.2 --out runs/acc``
prints the held-out accuracy of the float network, of the integer network on the digital array
(bit-exact with the RTL) and on the analog core at its configured noise, then accuracy against a sweep
of noise sigmas and of ADC resolutions, with the energy per inference of each beside it. ``--out DIR``
writes (replacing only what systolic wrote there before): ``accuracy.txt``, ``accuracy.json`` and
``accuracy.png``.
"""

from __future__ import annotations

import argparse
from typing import Any


def add(sub: Any) -> None:
    """Register ``systolic accuracy``."""
    p = sub.add_parser(
        "accuracy",
        help="accuracy of float, digital (bit-exact) and analog (noisy) inference, with energy",
        description="Held-out accuracy of a quantized network: float, integer on the digital array, and "
        "on an analog in-memory core against noise and ADC resolution, with energy per inference.",
    )
    p.add_argument(
        "--network",
        required=True,
        metavar="N",
        help="a shipped network (digits-cnn) or an ONNX model with weights (.onnx: float accuracy from "
        "onnxruntime, ternary/4-bit by post-training quantization)",
    )
    p.add_argument(
        "--arch", required=True, metavar="ARCH", help="an analog core: shipped analog-* name or .toml file"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        dest="overrides",
        help="override one analog core field (repeatable), e.g. --set read_sigma=0.02",
    )
    p.add_argument(
        "--noise",
        default="0,0.02,0.05,0.1,0.15,0.2,0.3,0.5",
        metavar="S,S,...",
        help="noise sigmas to sweep, as fractions of a cell's conductance range",
    )
    p.add_argument(
        "--noise-kind", default="program", choices=("program", "read"), help="which sigma --noise sweeps"
    )
    p.add_argument("--adc-bits", default="3,4,5,6,7,8", metavar="B,B,...", help="ADC resolutions to sweep")
    p.add_argument("--seeds", type=int, default=3, metavar="N", help="noise seeds per point (default 3)")
    p.add_argument("--out", metavar="DIR", help="write accuracy.txt, accuracy.json and accuracy.png here")
    p.set_defaults(func=run)


#: What ``--out`` gets.
ACCURACY_FILES = ("accuracy.txt", "accuracy.json", "accuracy.png")
#: The largest noise sigma, in conductance ranges.
MAX_SIGMA = 10.0
#: Noise seeds per point: each is a pass over the 450 held-out images per noise level (about 0.3 s).
MAX_SEEDS = 1000


def _overrides(texts: list[str]) -> dict[str, Any]:
    from ..errors import InputError
    from ..numbers import parse_float, parse_int

    out: dict[str, Any] = {}
    for text in texts:
        key, sep, raw = text.partition("=")
        if not sep:
            raise InputError(f"expected FIELD=VALUE, got '{text}'", "--set")
        low = raw.strip().lower()
        if low in ("true", "false"):
            out[key.strip()] = low == "true"
            continue
        try:
            out[key.strip()] = parse_int(raw) if raw.strip().lstrip("+-").isdigit() else parse_float(raw)
        except ValueError:
            out[key.strip()] = raw.strip()
    return out


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from ..analog_config import load_analog
    from ..errors import InputError
    from ..fileio import OutputDir, atomic_write_json, atomic_write_text, check_output
    from ..flow import accuracy as acc

    if args.out is not None:
        inputs = [p for p in (args.arch, args.network) if os.path.isfile(p)]
        check_output(args.out, inputs, folder=True, names=ACCURACY_FILES)
    if args.seeds > MAX_SEEDS:
        raise InputError(f"must be at most {MAX_SEEDS}, not {args.seeds}", "--seeds")
    cfg = load_analog(args.arch, _overrides(args.overrides))
    sigmas = acc.parse_floats(args.noise, "--noise")
    if max(sigmas) > MAX_SIGMA:
        # accuracy is down to chance long before (sigma 0.5: 64%)
        raise InputError(f"must be at most {MAX_SIGMA:g} conductance ranges, not '{args.noise}'", "--noise")
    bits = acc.parse_floats(args.adc_bits, "--adc-bits")
    if any(b != int(b) or not 1 <= b <= 16 for b in bits):
        raise InputError(f"must be whole numbers of bits in 1..16, not '{args.adc_bits}'", "--adc-bits")
    report = acc.evaluate(
        args.network,
        cfg,
        sigmas=sigmas,
        noise_kind=args.noise_kind,
        adc_bits=tuple(int(b) for b in bits),
        seeds=args.seeds,
    )
    text = acc.report_text(report)
    sys.stdout.write(text)
    if args.out is not None:
        with OutputDir(args.out) as tmp:
            atomic_write_text(tmp / "accuracy.txt", text)
            atomic_write_json(tmp / "accuracy.json", acc.report_json(report))
            (tmp / "accuracy.png").write_bytes(acc.plot_png(report))
    return 0
