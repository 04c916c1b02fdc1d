"""The validation matrix behind ``make cosim``: dataflows x array shapes x GEMM edge cases x simulators.

Each (config, simulator) pair is one build and one simulator process running all its GEMMs; pairs run in
parallel (``--jobs``). The table and the JSON hold one row per case.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from systolic.config import ArrayConfig, Dataflow
from systolic.fileio import atomic_write_json
from systolic.workload import ConvShape

from .chip_harness import CHIP_TILE, ChipCase
from .progress import duration
from .runner import CaseResult, GemmCase, run_cases

#: Array shapes: square, small square, and non-square (more rows than columns).
ARRAYS = ((4, 4), (8, 8), (16, 12))


def default_cases(rows: int, cols: int) -> list[GemmCase]:
    """GEMM edge cases for a rows x cols array: 1x1x1, K = 1, M below the array, primes, exact
    multiples of the array, and shapes that leave partial folds in every dimension."""
    shapes = [
        (1, 1, 1, "1x1x1"),
        (5, 3, 1, "K=1"),
        (max(1, rows - 1), cols, 2 * rows, "M<rows"),
        (7, 5, 3, "primes"),
        (2 * rows, 2 * cols, 2 * rows, "exact multiple"),
        (2 * rows + 3, cols + 5, 3 * rows + 1, "partial folds"),
        (13, 2 * cols + 1, 2, "N>cols, small K"),
    ]
    cases = [
        GemmCase(m, n, k, seed=i, label=f"{label} ({m}x{n}x{k})") for i, (m, n, k, label) in enumerate(shapes)
    ]
    # a padded, strided convolution as its im2col GEMM, also checked against a direct convolution
    conv = ConvShape(7, 6, 3, 3, 2, cols + 1, stride_h=2, stride_w=2, pad_h=1, pad_w=1)
    return [*cases, GemmCase.from_conv(conv, seed=len(cases))]


#: Memory systems for the whole-accelerator part of the matrix: a narrow DRAM port and small buffers
#: (several tiles per layer, DRAM-bound: stalls) and a wide port with larger buffers (compute-bound).
MEMORIES = {
    "mem-narrow": dict(
        rows=4,
        cols=4,
        dram_bw_words_per_cycle=1,
        dram_latency_cycles=6,
        ifmap_sram_bytes=128,
        filter_sram_bytes=128,
        ofmap_sram_bytes=512,
    ),
    "mem-wide": dict(
        rows=8,
        cols=6,
        dram_bw_words_per_cycle=4,
        dram_latency_cycles=3,
        ifmap_sram_bytes=2048,
        filter_sram_bytes=2048,
        ofmap_sram_bytes=8192,
    ),
}


def memory_cases(rows: int, cols: int) -> list[GemmCase]:
    """Layers for the whole accelerator: tiny, primes, partial folds, several tiles, tiles of short folds,
    tiles of one time step, and a convolution."""
    shapes = [
        (1, 1, 1, "1x1x1"),
        (7, 5, 3, "primes"),
        (2 * rows + 3, cols + 5, 3 * rows + 1, "partial folds"),
        (5 * rows + 2, 3 * cols + 1, 6 * rows + 3, "several tiles"),
        (4 * rows + 1, 2 * cols + 3, 2, "tiles of short folds"),  # K < R + C: OS folds wait to drain
        # T = 1 < C: WS and IS take the next tile only when the last fold's stationary rows are loaded
        (1, 1, 9 * rows + 1, "tiles of one time step"),
    ]
    cases = [
        GemmCase(m, n, k, seed=100 + i, label=f"{label} ({m}x{n}x{k})")
        for i, (m, n, k, label) in enumerate(shapes)
    ]
    conv = ConvShape(7, 6, 3, 3, 2, cols + 1, stride_h=2, stride_w=2, pad_h=1, pad_w=1)
    return [*cases, GemmCase.from_conv(conv, seed=100 + len(cases))]


#: Grouped convolutions (depthwise 3x3 at stride 1 and 2 with padding, and 2 groups of 4 channels) run
#: as the config lowers them (``group_blocks``: blocks of groups, one block-diagonal GEMM each), one case
#: per GEMM, each checked against its block's channels of the convolution computed directly; on the
#: memory systems named in :data:`GROUPED_ON`.
GROUPED_CONVS = (
    (ConvShape(6, 6, 3, 3, 8, 8, pad_h=1, pad_w=1, groups=8), "depthwise 3x3"),
    (ConvShape(7, 7, 3, 3, 8, 8, stride_h=2, stride_w=2, pad_h=1, pad_w=1, groups=8), "depthwise 3x3 /2"),
    (ConvShape(5, 5, 3, 3, 8, 6, pad_h=1, pad_w=1, groups=2), "2 groups of 4 channels"),
)
GROUPED_ON = ("mem-wide",)


def _lowered(cfg: ArrayConfig, convs: tuple, seed: int) -> list[GemmCase]:
    """The GEMMs of the grouped convolutions ``convs`` ((shape, label) pairs) as ``cfg`` lowers them,
    seeded from ``seed`` on."""
    cases: list[GemmCase] = []
    for shape, label in convs:
        cases += GemmCase.conv_blocks(cfg, shape, seed=seed + len(cases), label=label)
    return cases


def grouped_cases(cfg: ArrayConfig) -> list[GemmCase]:
    """The GEMMs of :data:`GROUPED_CONVS` as ``cfg`` lowers them."""
    return _lowered(cfg, GROUPED_CONVS, 400)


#: Grouped and depthwise convolutions read natively (``conv_native``: each block of groups the dense
#: convolution of its channel slice, in bands), on :data:`CONV_MEMORIES`: depthwise 3x3 at stride 1 and 2
#: with padding, and 3 groups of 2 and of 3 channels, so that a block's b x C_g channels are a multiple of
#: the rows (4 on the tight memory) and not (there and on the 8-row ample one), a tail block included.
NATIVE_GROUPED_CONVS = (
    *GROUPED_CONVS[:2],
    (ConvShape(5, 5, 3, 3, 6, 6, pad_h=1, pad_w=1, groups=3), "3 groups of 2 channels"),
    (ConvShape(5, 5, 3, 3, 9, 6, pad_h=1, pad_w=1, groups=3), "3 groups of 3 channels"),
)


def native_grouped_cases(cfg: ArrayConfig) -> list[GemmCase]:
    """The GEMMs of :data:`NATIVE_GROUPED_CONVS` as ``cfg`` lowers them."""
    return _lowered(cfg, NATIVE_GROUPED_CONVS, 500)


#: Memory systems for convolution-native input (``conv_native``, WS and OS): a small ifmap SRAM (bands of a
#: few output rows, their halos re-read) and one that holds a whole image (the ifmap read once).
CONV_MEMORIES = {
    "mem-conv-tight": dict(
        rows=4,
        cols=4,
        dram_bw_words_per_cycle=2,
        dram_latency_cycles=5,
        ifmap_sram_bytes=384,
        filter_sram_bytes=1024,
        ofmap_sram_bytes=1024,
    ),
    "mem-conv-ample": dict(
        rows=8,
        cols=6,
        dram_bw_words_per_cycle=4,
        dram_latency_cycles=3,
        ifmap_sram_bytes=8192,
        filter_sram_bytes=8192,
        ofmap_sram_bytes=16384,
    ),
}


def conv_cases(rows: int, cols: int) -> list[GemmCase]:
    """Convolutions with channels a multiple of ``rows`` (natively read), padded, strided, pointwise,
    with SCALE-Sim's end padding, a batch of two, an R x S = 5 x 3 filter, deep (k-tiles of whole
    filter rows when the filter SRAM is small); then a GEMM (read as a matrix on the same build) and
    convolutions whose channels are not a multiple of ``rows`` (natively read too, k-lines across filter
    rows: C = rows + 1, C = 3 with a 7x7 filter, stride 2 and padding 3, C = 1.5 rows in bands of a few
    output rows, C = 3 with a 5x3 filter, C = 3 in a batch of 2)."""
    c = 2 * rows
    shapes = [
        (ConvShape(6, 5, 3, 3, c, 5, pad_h=1, pad_w=1), "padded 3x3"),
        (ConvShape(7, 6, 3, 3, c, cols + 1, stride_h=2, stride_w=2, pad_h=1, pad_w=1), "strided 3x3"),
        (ConvShape(4, 4, 1, 1, c, cols), "pointwise"),
        (ConvShape(6, 6, 3, 3, c, 3, stride_h=2, stride_w=2, extra_h=1, extra_w=1), "end padding"),
        (ConvShape(4, 4, 3, 3, c, 3, pad_h=1, pad_w=1, batch=2), "batch 2"),
        (ConvShape(7, 5, 5, 3, rows, 4, stride_h=2, pad_h=2, pad_w=1), "5x3 filter"),
        (
            ConvShape(6, 3, 3, 3, 4 * rows, 4, pad_h=1, pad_w=1),
            "deep 3x3",
        ),  # k-tiles of filter rows when tight
    ]
    cases = [
        GemmCase.from_conv(shape, seed=200 + i, label=f"{label} conv")
        for i, (shape, label) in enumerate(shapes)
    ]
    # channels not a multiple of rows: k-lines across filter rows from a pitched band
    odd = [
        (ConvShape(5, 5, 3, 3, rows + 1, 3, pad_h=1, pad_w=1), "C = rows + 1, padded 3x3"),
        (
            ConvShape(9, 8, 7, 7, 3, cols, stride_h=2, stride_w=2, pad_h=3, pad_w=3),
            "C = 3, 7x7 stride 2 pad 3",
        ),
        (ConvShape(8, 5, 3, 3, rows + rows // 2, 3, pad_h=1, pad_w=1), "C = 1.5 rows, padded 3x3, tall"),
        (ConvShape(7, 5, 5, 3, 3, 4, stride_h=2, pad_h=2, pad_w=1), "C = 3, 5x3 filter"),
        (ConvShape(5, 5, 3, 3, 3, 3, pad_h=1, pad_w=1, batch=2), "C = 3, padded 3x3, batch 2"),
    ]
    return [
        *cases,
        GemmCase(7, 5, 3, seed=200 + len(cases), label="primes (7x5x3)"),
        *(
            GemmCase.from_conv(shape, seed=201 + len(cases) + i, label=f"{label} conv")
            for i, (shape, label) in enumerate(odd)
        ),
    ]


def os_conv_cases(rows: int, cols: int) -> list[GemmCase]:
    """Convolutions OS and IS read natively (lanes along the output pixels, a run per channel and phase,
    :func:`systolic.geometry.phase_layout`, plane rows at a row pitch in the SRAM when OW != W',
    :func:`systolic.geometry.pixel_row_pitch`): 3x3
    'same' with rows whose width is not a multiple of the array's rows (a vector crosses output rows),
    narrower than the rows (a vector spans several), pointwise, a batch of two, 5x5 'same', a 3x1 filter
    ('valid' height), channels not a multiple of the rows in a tall image (bands of a few output rows on
    the tight memory), deep (k-tiles of whole filter rows when tight); strided: 3x3 stride 2 pad 1 on an
    even and two odd widths (phases of different sizes; bands of a few output rows on the tight memory),
    1x1 stride 2 (phase (0, 0) only), 7x7 stride 2 pad 3 with C = 3, a batch of two; 'valid' widths: a
    strided 3x3 (OW < W'), a 3x3 on 9 columns whose vectors span output rows in a tall image (bands of a
    few output rows on the tight memory), a 3x3 on a batch of two, a 1x1 with padding 1 (OW > W'); then a
    GEMM, read as a matrix on the same build."""
    shapes = [
        (ConvShape(6, 5, 3, 3, 3, cols - 1, pad_h=1, pad_w=1), "padded 3x3, W = 5"),
        (ConvShape(4, 3, 3, 3, 2, 3, pad_h=1, pad_w=1), "padded 3x3, W = 3"),
        (ConvShape(4, 4, 1, 1, rows + 1, cols), "pointwise"),
        (ConvShape(4, 3, 3, 3, 2, 3, pad_h=1, pad_w=1, batch=2), "batch 2"),
        (ConvShape(5, 6, 5, 5, 2, 3, pad_h=2, pad_w=2), "5x5 same"),
        (ConvShape(6, 5, 3, 1, 3, 3, pad_h=0), "3x1 valid"),
        (ConvShape(8, 5, 3, 3, rows + 1, 3, pad_h=1, pad_w=1), "C = rows + 1, tall"),
        (ConvShape(6, 3, 3, 3, 4 * rows, 4, pad_h=1, pad_w=1), "deep 3x3"),
        (
            ConvShape(7, 6, 3, 3, 2, cols + 1, stride_h=2, stride_w=2, pad_h=1, pad_w=1),
            "strided 3x3, W = 6",
        ),
        (ConvShape(8, 8, 3, 3, 2, 3, stride_h=2, stride_w=2, pad_h=1, pad_w=1), "3x3 stride 2, 8x8"),
        (ConvShape(9, 7, 3, 3, 3, 3, stride_h=2, stride_w=2, pad_h=1, pad_w=1), "3x3 stride 2, 9x7, tall"),
        (ConvShape(8, 6, 1, 1, rows + 1, cols, stride_h=2, stride_w=2), "1x1 stride 2"),
        (
            ConvShape(9, 8, 7, 7, 3, cols, stride_h=2, stride_w=2, pad_h=3, pad_w=3),
            "C = 3, 7x7 stride 2 pad 3",
        ),
        (ConvShape(7, 6, 3, 3, 2, 3, stride_h=2, stride_w=2, pad_h=1, pad_w=1, batch=2), "stride 2, batch 2"),
        (ConvShape(7, 6, 3, 3, 2, cols + 1, stride_h=2, stride_w=2), "strided 3x3 valid, OW < W'"),
        (ConvShape(12, 9, 3, 3, 2, 5), "3x3 valid, W = 9, tall"),
        (ConvShape(6, 7, 3, 3, 2, 3, batch=2), "3x3 valid, batch 2"),
        (ConvShape(5, 5, 1, 1, 3, 3, pad_h=1, pad_w=1), "1x1 pad 1, OW > W'"),
    ]
    cases = [
        GemmCase.from_conv(shape, seed=600 + i, label=f"{label} conv")
        for i, (shape, label) in enumerate(shapes)
    ]
    return [*cases, GemmCase(7, 5, 3, seed=600 + len(cases), label="primes (7x5x3)")]


#: Grouped and depthwise convolutions OS and IS read natively (stride 1, 'same' widths: a block of groups is
#: the dense convolution of its channel slice, C' consecutive planes of the NCHW tensor), on
#: :data:`CONV_MEMORIES`: depthwise 3x3 of 7 channels (no block size the planner takes divides 7, so every
#: config runs a tail block), 2 groups of 3 channels (C_g not a multiple of the lanes), a grouped 1x1, and
#: a tall depthwise image (several tiles a block where the ifmap SRAM is tight).
PIXEL_GROUPED_CONVS = (
    (ConvShape(5, 5, 3, 3, 7, 7, pad_h=1, pad_w=1, groups=7), "depthwise 3x3 C = g = 7"),
    (ConvShape(6, 5, 3, 3, 6, 4, pad_h=1, pad_w=1, groups=2), "2 groups of 3 channels"),
    (ConvShape(4, 4, 1, 1, 8, 8, groups=4), "4 groups 1x1"),
    (ConvShape(16, 4, 3, 3, 4, 4, pad_h=1, pad_w=1, groups=4), "depthwise 3x3 tall"),
)


def pixel_grouped_cases(cfg: ArrayConfig) -> list[GemmCase]:
    """The GEMMs of :data:`PIXEL_GROUPED_CONVS` as ``cfg`` lowers them."""
    return _lowered(cfg, PIXEL_GROUPED_CONVS, 700)


#: Tiled chips of 4x4 tiles (:data:`~systolic.cosim.chip_harness.CHIP_TILE`), one build each: two tiles
#: of one layer each; and three stages on a 2x2 grid (a slow middle stage of two layers: its FIFO fills,
#: the link holds its item, the first stage blocks, the last one starves between items), links of one and
#: two hops (tile 1 to tile 2 crosses the grid's diagonal) at 2 cycles per hop; and three tiles of a
#: 4-word DRAM port on one shared channel of 4 words (a lane of 1 word each, one word of the channel unused).
CHIP_CASES = (
    ChipCase("2x1-two-layers", 1, 2, ((8, 8, 8), (8, 6, 8)), (0, 1), (0, 1), batch=3, seed=300),
    ChipCase(
        "2x2-fifo-fills",
        2,
        2,
        ((8, 4, 8), (8, 8, 4), (8, 8, 8), (8, 4, 8)),
        (0, 1, 1, 2),
        (0, 1, 2),
        batch=5,
        fifo_depth=1,
        link_words_per_cycle=2,
        hop_cycles=2,
        seed=301,
    ),
    ChipCase(
        "3x1-shared-channel",
        1,
        3,
        ((8, 8, 8), (8, 4, 8), (8, 8, 4)),
        (0, 1, 2),
        (0, 1, 2),
        batch=2,
        seed=302,
        tile={**CHIP_TILE, "dram_bw_words_per_cycle": 4},
        dram_channels=1,
        dram_words_per_cycle=4,
    ),
)

#: One group of the matrix: a config, its cases, and which top they run on ('core', 'accel', or 'chip':
#: the config is then the chip's tile and the cases are :class:`ChipCase`).
Group = tuple[ArrayConfig, list, str]


#: Options that change the micro-architecture, each also run switched to the other value, per dataflow,
#: on the groups named: ``-serial`` (``fold_overlap`` flipped: folds, and so tiles, one after the other)
#: on the 16x12 engine and the narrow accelerator; ``-tiles`` (``tile_overlap`` flipped) on the wide,
#: compute-bound accelerator, where tiles overlapping matters.
OPTION_GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "serial": (("fold_overlap",), ("16x12", "mem-narrow")),
    "tiles": (("tile_overlap",), ("mem-wide",)),
}


#: Variants that set fields rather than flip a boolean, per dataflow, on the groups named: ``-ternary``
#: (``weight_format = "ternary"``: sign-select PEs, weights in {-1, 0, 1}) on the 8x8 engine and the
#: narrow accelerator.
VALUE_GROUPS: dict[str, tuple[dict, tuple[str, ...]]] = {
    "ternary": ({"weight_format": "ternary", "weight_bits": 2, "weight_signed": True}, ("8x8", "mem-narrow")),
}


def default_matrix(base: ArrayConfig) -> list[Group]:
    """The GEMM engine on every dataflow and array shape, then the whole accelerator on every dataflow
    and both memory systems; then the groups of :data:`OPTION_GROUPS` with their option flipped and those
    of :data:`VALUE_GROUPS` with their fields set."""
    groups: list[Group] = []
    for df in Dataflow:
        for rows, cols in ARRAYS:
            cfg = base.replace(name=f"{df.value}-{rows}x{cols}", rows=rows, cols=cols, dataflow=df)
            groups.append((cfg, default_cases(rows, cols), "core"))
    for df in Dataflow:
        for name, fields in MEMORIES.items():
            cfg = base.replace(name=f"{df.value}-{name}", dataflow=df, **fields)
            grouped = grouped_cases(cfg) if name in GROUPED_ON else []
            groups.append((cfg, memory_cases(cfg.rows, cfg.cols) + grouped, "accel"))
    for name, fields in CONV_MEMORIES.items():  # conv_native on WS, and the same without it
        cfg = base.replace(name=f"ws-{name}", dataflow=Dataflow.WS, conv_native=True, **fields)
        groups.append((cfg, conv_cases(cfg.rows, cfg.cols) + native_grouped_cases(cfg), "accel"))
        groups.append((cfg.replace(name=f"{cfg.name}-im2col", conv_native=False), groups[-1][1], "accel"))
    for df in (Dataflow.OS, Dataflow.IS):  # conv_native with lanes along the pixels: the same memories
        for name, fields in CONV_MEMORIES.items():
            cfg = base.replace(name=f"{df.value}-{name}", dataflow=df, conv_native=True, **fields)
            groups.append((cfg, os_conv_cases(cfg.rows, cfg.cols) + pixel_grouped_cases(cfg), "accel"))
            groups.append((cfg.replace(name=f"{cfg.name}-im2col", conv_native=False), groups[-1][1], "accel"))
        # one GEMM per group (group_blocks off), natively, on the tight memory
        cfg = base.replace(name=f"{df.value}-mem-conv-tight-pergroup", dataflow=df, conv_native=True,
                           group_blocks=False, **CONV_MEMORIES["mem-conv-tight"])  # fmt: skip
        groups.append((cfg, pixel_grouped_cases(cfg), "accel"))
    # OS's serial pipeline (fold_overlap off) reads the tight memory's bands too (IS's needs the overlap)
    tight, cases, _ = next(g for g in groups if g[0].name == "os-mem-conv-tight")
    groups.append((tight.replace(name=f"{tight.name}-serial", fold_overlap=False), cases, "accel"))
    plain = {cfg.name: (cfg, cases, top) for cfg, cases, top in groups}
    for label, (options, names) in OPTION_GROUPS.items():
        flipped = {key: not getattr(base, key) for key in options}
        for df in Dataflow:
            for name in names:
                cfg, cases, top = plain[f"{df.value}-{name}"]
                groups.append((cfg.replace(name=f"{cfg.name}-{label}", **flipped), cases, top))
    for label, (values, names) in VALUE_GROUPS.items():
        for df in Dataflow:
            for name in names:
                cfg, cases, top = plain[f"{df.value}-{name}"]
                groups.append((cfg.replace(name=f"{cfg.name}-{label}", **values), cases, top))
    for case in CHIP_CASES:
        groups.append((ArrayConfig(name=f"chip-{case.name}", **case.tile), [case], "chip"))
    return groups


def run_matrix(
    groups: list[Group],
    sims: list[str],
    jobs: int,
    root: Path = Path("build"),
    progress=None,
) -> list[CaseResult]:
    """Run every group under every simulator, ``jobs`` at a time; rows come back in matrix order."""
    work = [(cfg, cases, top, sim) for cfg, cases, top in groups for sim in sims]

    def one(item):
        cfg, cases, top, sim = item
        if top == "chip":
            from .chip_cosim import run_chip_case

            rows = [run_chip_case(case, sim, root=root) for case in cases]
        else:
            rows = run_cases(cfg, sim, cases, root=root, run_name="matrix", top=top)
        if progress:
            progress(cfg, sim, rows)
        return rows

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, work))
    return [row for rows in results for row in rows]


def _memory_cell(r: CaseResult) -> str:
    if "intervals_match" in r.extra:
        return "intervals same" if r.extra["intervals_match"] else "intervals DIFFER"
    if "rtl" not in r.extra:
        return "-"
    if r.extra["counts_match"] and r.extra["traces_match"]:
        return "same"
    return "counts DIFFER" if not r.extra["counts_match"] else "traces DIFFER"


def format_table(rows: list[CaseResult]) -> str:
    head = (
        "config",
        "workload",
        "simulator",
        "RTL cycles",
        "model cycles",
        "difference",
        "stalls",
        "accesses+traces",
        "outputs ok",
    )
    body = [
        (
            r.arch,
            r.workload,
            r.simulator,
            str(r.rtl_cycles),
            str(r.model_cycles),
            f"{r.cycle_difference:+d}",
            str(r.extra["rtl"]["stall_cycles"]) if "rtl" in r.extra else "-",
            _memory_cell(r),
            "yes" if r.outputs_match else f"NO ({r.mismatches} wrong)",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    line = "  ".join(f"{{:<{w}}}" if i < 3 else f"{{:>{w}}}" for i, w in enumerate(widths))
    out = [line.format(*head), "  ".join("-" * w for w in widths)]
    out += [line.format(*b) for b in body]
    return "\n".join(out)


def write_json(path: Path, rows: list[CaseResult], meta: dict) -> None:
    """Write results atomically: an interrupted run never leaves a half-written file behind."""
    data = {
        **meta,
        "cases": [r.to_dict() for r in rows],
        "all_ok": all(r.ok for r in rows),
        "count": len(rows),
    }
    atomic_write_json(path, data)


def progress_printer(total: int, out=sys.stderr):
    """A ``progress`` callback for :func:`run_matrix` that prints each finished group with the groups done,
    the time elapsed and an estimate of the time left (from the groups done so far; builds are cached, so
    later runs go faster than the first)."""
    start = time.perf_counter()
    done = [0]
    lock = threading.Lock()

    def report(cfg: ArrayConfig, sim: str, rows: list[CaseResult]) -> None:
        bad = sum(not r.ok for r in rows)
        status = "ok" if not bad else f"{bad} FAILED"
        with lock:
            done[0] += 1
            elapsed = time.perf_counter() - start
            left = elapsed / done[0] * (total - done[0])
            print(
                f"  [{done[0]}/{total}] {cfg.name:<10} {sim:<9} {len(rows)} cases {status}; "
                f"{duration(elapsed)} so far, about {duration(left)} left",
                file=out,
                flush=True,
            )

    return report
