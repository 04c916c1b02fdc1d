"""The energy model against the RTL on convolutions read natively (bands), per component class.

Run: .venv/bin/python bench/conv_energy.py [--only SUBSTRING] [--fresh]

Each case is one convolution run on the whole accelerator under Icarus with a VCD, one simulation at a
time, its operands the seeded random ones the cosim testbench draws (``cosim/tb_common.case_operands``:
``systolic cosim --conv ... --seed 0``), read natively (``conv_native = true``: bands, a window generator;
the case is skipped with a note if the planner still runs it as im2col). The VCD's toggles per class
(``cosim/toggles.count_toggles`` with the energy rules) times the calibrated energy per toggle are the
measured energy, the model's prediction of the same run (``cosim/energy_check.energy_check``: it plans the
bands as the RTL did) the predicted one; both dynamic only. Reported: per class the median and worst
|error| over the cases and the error of the sums, per case the total's error.

The RTL's toggles (per class, and per net group of the SRAMs and the controller, indices folded: what a
diagnosis compares with the model's features) are kept in build/conv-energy keyed on the generator's
source, the config and the case, so a model change re-predicts without simulating. Writes
bench/results/conv_energy.json and .md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from systolic.config import load_arch
from systolic.cosim.energy_check import energy_check
from systolic.cosim.runner import GemmCase, generator_digest, run_cases
from systolic.cosim.toggles import CLASSES, count_toggles, energy_rules
from systolic.formats.calibration import calibration_label, load_calibration
from systolic.model import energy as en
from systolic.model.cycles import GemmArrays
from systolic.model.memory import memory_cycles
from systolic.workload import ConvShape

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "conv-energy"
OUT = ROOT / "bench" / "results"

#: (name, conv H,W,R,S,C,F,stride,pad) -- what each case exercises
CONVS = {
    "3x3/1 same C=P": (8, 8, 3, 3, 8, 8, 1, 1),  # C a multiple of the rows: WS whole bands
    "3x3/1 same C=5": (8, 8, 3, 3, 5, 6, 1, 1),  # C not a multiple: WS pitched k-lines
    "3x3/2 C=6": (9, 9, 3, 3, 6, 8, 2, 1),  # stride 2: OS/IS phase planes
    "7x7/2 C=3": (14, 14, 7, 7, 3, 8, 2, 3),  # the stem: WS pitched, OS/IS four phases
    "3x3/1 valid": (9, 10, 3, 3, 8, 8, 1, 0),  # OS/IS pitched 'valid' bands (OW != W)
}
#: (label, arch, overrides): small-8x8 ample and tight (several bands/tiles), a 4x8 array
ARRAYS = [
    ("8x8", "small-8x8", {}),
    ("8x8 ifmap 1 KiB", "small-8x8", {"ifmap_sram_bytes": 1024}),
    ("4x8", "small-8x8", {"rows": 4, "cols": 8}),
]
DATAFLOWS = ("ws", "os", "is")
N = len(en.COMPONENT_CLASSES)


def _groups(counts) -> dict[str, int]:
    """Toggles of the SRAMs' and controller's nets by name, indices folded (``lane_3`` -> ``lane_#``)."""
    out: dict[str, int] = {}
    for name, cls, t in zip(counts.signal_names, counts.signal_classes, counts.per_signal, strict=True):
        if CLASSES[cls] in ("ifmap_sram", "filter_sram", "ofmap_sram", "ctrl") and t:
            key = CLASSES[cls] + ":" + re.sub(r"\d+", "#", name.split(".", 1)[-1])
            out[key] = out.get(key, 0) + int(t)
    return out


def measure(cfg, case: GemmCase) -> dict:
    """The RTL's run of ``case`` (cached): cycles check, toggles per class and per net group."""
    key = json.dumps([generator_digest(), cfg.to_dict(), case.__dict__], sort_keys=True, default=str)
    path = BUILD / "toggles" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    if path.exists():
        return json.loads(path.read_text())
    start = time.perf_counter()
    (r,) = run_cases(cfg, "icarus", [case], waves=True, root=BUILD, top="accel")
    counts = count_toggles(r.waves, rules=energy_rules(cfg.dataflow.value))
    got = {
        "ok": r.ok,
        "rtl_cycles": r.rtl_cycles,
        "per_class": counts.per_class[:N].tolist(),
        "groups": _groups(counts),
        "sim_s": round(time.perf_counter() - start, 1),
    }
    Path(r.waves).unlink()  # VCDs are large; the counts are what is kept
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(got, indent=1, sort_keys=True))
    return got


def operands(cfg, case: GemmCase):
    """The testbench's seeded random ifmap and im2col operands of ``case`` (as ``systolic cosim --energy``
    draws them)."""
    from systolic.cosim.conv import conv_tensors, im2col

    shape = ConvShape(**case.conv)
    x, w = conv_tensors(cfg, shape, np.random.default_rng(case.seed))
    return x, *im2col(x, w, shape)


def run_case(arch, overrides, dataflow, conv, calibration, label) -> dict | None:
    cfg = load_arch(arch, {**overrides, "dataflow": dataflow, "conv_native": True})
    h, w, r, s, c, f, stride, pad = conv
    shape = ConvShape(h, w, r, s, c, f, stride_h=stride, stride_w=stride, pad_h=pad, pad_w=pad)
    case = GemmCase.from_conv(shape, seed=0)
    gemm = GemmArrays.of([case.m], [case.n], [case.k], conv=[shape])
    plan = memory_cycles(cfg, gemm).schedule.plan
    if plan.native[0] is None:
        return None
    got = measure(cfg, case)
    x, a, b = operands(cfg, case)
    e = energy_check(
        cfg, a, b, None, calibration, label, conv=shape, measured=np.array(got["per_class"]), ifmap=x
    )
    # the model's toggles per feature (features x coefficients): what a diagnosis holds against the groups
    memory = memory_cycles(cfg, gemm)
    stats = en.layer_stats(cfg, a, b, tile_k=int(plan.tk[0]), conv=shape, ifmap=x)
    x = en.toggle_features(cfg, en.activity_counts(cfg, gemm, memory), stats)[0]  # [class, feature]
    beta = calibration.coeffs[en.DATAFLOWS.index(dataflow)]
    features = {
        cls: [round(float(t), 1) for t in (x[i] * beta[i])[: len(en.TOGGLE_FEATURES[cls])]]
        for i, cls in enumerate(en.COMPONENT_CLASSES)
    }
    return {
        "rtl_ok": got["ok"],
        "rtl_cycles": got["rtl_cycles"],
        "tiles": [int(plan.count_m[0]), int(plan.count_n[0]), int(plan.count_k[0])],
        "energy": e,
        "features": features,
        "groups": got["groups"],
    }


def summary(cases: list[dict]) -> dict:
    """Per class (and total): median and worst |error| over the cases, and the error of the sums."""
    out = {}
    for cls in (*en.COMPONENT_CLASSES, "total"):
        rows = [c["energy"]["total"] if cls == "total" else c["energy"]["classes"][cls] for c in cases]
        errs = np.array([abs(r["error"]) for r in rows if r["error"] is not None])
        m, p = sum(r["measured_pj"] for r in rows), sum(r["predicted_pj"] for r in rows)
        out[cls] = {
            "median_abs": round(float(np.median(errs)), 4) if errs.size else None,
            "worst_abs": round(float(errs.max()), 4) if errs.size else None,
            "sum": round(p / m - 1, 4) if m > 0 else None,
        }
    return out


def markdown(result: dict) -> str:
    lines = [
        "# Energy model vs RTL on natively read convolutions",
        "",
        f"{len(result['cases'])} cases, Icarus, seeded random operands (seed 0, as `systolic cosim --conv`"
        f" draws them), calibration {result['calibration']}; dynamic energy, predicted / measured - 1.",
        "",
        "| dataflow | class | median abs | worst abs | sum |",
        "|---|---|--:|--:|--:|",
    ]
    for df, table in result["summary"].items():
        for cls, row in table.items():
            cells = ["-" if row[k] is None else f"{100 * row[k]:.1f}%" for k in ("median_abs", "worst_abs")]
            total = "-" if row["sum"] is None else f"{100 * row['sum']:+.1f}%"
            lines.append(f"| {df} | {cls} | {cells[0]} | {cells[1]} | {total} |")
    head = "| case | tiles m,n,k | ifmap | filter | ofmap | ctrl | dram | total |"
    lines += ["", head, "|---|---|" + "--:|" * 6]
    for c in result["cases"]:
        e = c["energy"]
        errs = [e["classes"][k]["error"] for k in ("ifmap_sram", "filter_sram", "ofmap_sram", "ctrl", "dram")]
        errs.append(e["total"]["error"])
        cells = " | ".join("-" if x is None else f"{100 * x:+.1f}%" for x in errs)
        lines.append(f"| {c['name']} | {','.join(map(str, c['tiles']))} | {cells} |")
    if result["skipped"]:
        lines += ["", "Not read natively by the planner (skipped): " + ", ".join(result["skipped"])]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    ap.add_argument("--fresh", action="store_true", help="re-simulate (discard the kept toggles)")
    ap.add_argument("--out", default=str(OUT), help="directory of conv_energy.json and .md")
    args = ap.parse_args(argv)
    if args.fresh:
        for p in (BUILD / "toggles").glob("*.json"):
            p.unlink()
    calibration, cal_path = load_calibration(None)
    label = calibration_label(cal_path)
    cases, skipped = [], []
    start = time.perf_counter()
    for arr, arch, overrides in ARRAYS:
        for df in DATAFLOWS:
            for cname, conv in CONVS.items():
                if arr == "4x8" and cname not in ("3x3/1 same C=5", "3x3/2 C=6", "3x3/1 valid"):
                    continue  # the other array: a few shapes
                name = f"{df} {arr} {cname}"
                if args.only not in name:
                    continue
                got = run_case(arch, overrides, df, conv, calibration, label)
                if got is None:
                    skipped.append(name)
                    continue
                cases.append({"name": name, "dataflow": df, **got})
                t = got["energy"]["total"]["error"]
                print(f"{name:<34} total {100 * t:+6.1f}%", file=sys.stderr, flush=True)
    print(f"{len(cases)} cases in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    result = {
        "calibration": label,
        "summary": {
            df: summary([c for c in cases if c["dataflow"] == df])
            for df in DATAFLOWS
            if any(c["dataflow"] == df for c in cases)
        }
        | ({"all": summary(cases)} if cases else {}),
        "cases": cases,
        "skipped": skipped,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "conv_energy.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "conv_energy.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
