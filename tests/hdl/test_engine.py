"""The whole ``GemmEngine`` under amaranth.sim, driven by the shared GemmHarness.

Every GEMM asserts: result == A @ B wrapped to acc_bits, bit for bit; cycles == expected_cycles exactly;
no protocol problem; and every request and output in exactly the cycle the timing contract gives it.
"""

from __future__ import annotations

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.amaranth_sim import run_gemm, run_gemms, simulate
from systolic.cosim.harness import GemmHarness, expected_cycles, random_operands, reference, unpack
from systolic.geometry import port_format
from systolic.hdl.engine import GemmEngine

SHAPES = [
    (1, 1, 1),
    (7, 5, 3),  # primes: partial folds everywhere
    (5, 1, 9),
    (1, 6, 2),
    (2, 4, 1),  # K = 1
    (8, 8, 8),  # exact multiples of 2x2 and 4x4
    (9, 7, 11),
]
ARRAYS = [(2, 2), (3, 2), (4, 4), (1, 3)]


def contract_schedule(cfg: ArrayConfig, m: int, n: int, k: int):
    """Requests and outputs the timing contract prescribes, cycles counted from the first operand data.

    Written straight from the contract, per dataflow, independently of the hardware and of PORT_MAP.
    Returns (requests, outputs): sorted lists of (cycle, port, row, col, lanes) and
    (cycle, row, col, lanes, first); a request is made one cycle before its data arrives.
    """
    big_r, big_c = cfg.rows, cfg.cols
    requests, outputs = [], []
    x = 0  # first operand data cycle of the current fold
    if cfg.fold_overlap:
        return _overlapped_schedule(cfg, m, n, k)
    if cfg.dataflow is Dataflow.OS:
        for n0 in range(0, n, big_c):
            for m0 in range(0, m, big_r):
                ru, cu = min(big_r, m - m0), min(big_c, n - n0)
                for kk in range(k):
                    requests.append((x + kk - 1, "west", m0, kk, ru))
                    requests.append((x + kk - 1, "north", kk, n0, cu))
                for j in range(big_r):
                    if big_r - 1 - j < ru:
                        outputs.append((x + k + big_r + big_c - 2 + j, m0 + big_r - 1 - j, n0, cu, 1))
                x += k + 2 * big_r + big_c - 2
    else:
        is_flow = cfg.dataflow is Dataflow.IS
        sc_dim, t_dim = (m, n) if is_flow else (n, m)
        for c0 in range(0, sc_dim, big_c):
            for k0 in range(0, k, big_r):
                ru, cu = min(big_r, k - k0), min(big_c, sc_dim - c0)
                for j in range(ru):  # the tile's last row first
                    kk = k0 + ru - 1 - j
                    requests.append((x + j - 1, "north", *((c0, kk) if is_flow else (kk, c0)), cu))
                s = x + ru
                for t in range(t_dim):
                    requests.append((s + t - 1, "west", *((k0, t) if is_flow else (t, k0)), ru))
                    first = int(k0 == 0)
                    outputs.append((s + t + big_r + big_c - 1, *((c0, t) if is_flow else (t, c0)), cu, first))
                x = s + t_dim + big_r + big_c - 1
    return sorted(requests), sorted(outputs)


def _overlapped_schedule(cfg: ArrayConfig, m: int, n: int, k: int):
    """:func:`contract_schedule` with ``fold_overlap`` (the contract in ``hdl/fold_pipeline.py``): OS folds
    start every max(K, R + C - 1) cycles and drain as before; WS/IS tiles arrive first row first, fold 0's
    from cycle 0, fold f+1's from x_f + C - 1, and fold f+1 streams from x_f + max(T, C, ru_{f+1})."""
    big_r, big_c = cfg.rows, cfg.cols
    requests, outputs = [], []
    if cfg.dataflow is Dataflow.OS:
        folds = [(m0, n0) for n0 in range(0, n, big_c) for m0 in range(0, m, big_r)]
        for f, (m0, n0) in enumerate(folds):
            x = f * max(k, big_r + big_c - 1)
            ru, cu = min(big_r, m - m0), min(big_c, n - n0)
            for kk in range(k):
                requests.append((x + kk - 1, "west", m0, kk, ru))
                requests.append((x + kk - 1, "north", kk, n0, cu))
            for j in range(big_r):
                if big_r - 1 - j < ru:
                    outputs.append((x + k + big_r + big_c - 2 + j, m0 + big_r - 1 - j, n0, cu, 1))
        return sorted(requests), sorted(outputs)
    is_flow = cfg.dataflow is Dataflow.IS
    sc_dim, t_dim = (m, n) if is_flow else (n, m)
    folds = [(c0, k0) for c0 in range(0, sc_dim, big_c) for k0 in range(0, k, big_r)]
    load, x = 0, max(1, min(big_r, k) - big_c + 1)
    for f, (c0, k0) in enumerate(folds):
        ru, cu = min(big_r, k - k0), min(big_c, sc_dim - c0)
        for j in range(ru):  # the tile's first row first
            requests.append((load + j - 1, "north", *((c0, k0 + j) if is_flow else (k0 + j, c0)), cu))
        for t in range(t_dim):
            requests.append((x + t - 1, "west", *((k0, t) if is_flow else (t, k0)), ru))
            first = int(k0 == 0)
            outputs.append((x + t + big_r + big_c - 1, *((c0, t) if is_flow else (t, c0)), cu, first))
        if f + 1 < len(folds):
            ru_next = min(big_r, k - folds[f + 1][1])
            load, x = x + big_c - 1, x + max(t_dim, big_c, ru_next)
    return sorted(requests), sorted(outputs)


def _check(cfg, shape, a, b, h):
    m, n, k = shape
    assert h.problems == []
    assert h.done
    np.testing.assert_array_equal(h.result, reference(cfg, a, b))
    assert h.cycles == expected_cycles(cfg, m, n, k)
    want_requests, want_outputs = contract_schedule(cfg, m, n, k)
    t0 = h.first_data_cycle
    assert sorted((t - t0, *rest) for t, *rest in h.requests) == want_requests
    assert sorted((t - t0, *rest) for t, *rest in h.outputs) == want_outputs
    assert h.done_cycle == h.last_output_cycle + 1


@pytest.mark.parametrize("overlap", [False, True], ids=["serial", "overlap"])
@pytest.mark.parametrize("array", ARRAYS, ids=lambda rc: f"{rc[0]}x{rc[1]}")
@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_gemm_results_and_cycles(dataflow, array, overlap):
    cfg = ArrayConfig(rows=array[0], cols=array[1], dataflow=dataflow, fold_overlap=overlap)
    rng = np.random.default_rng(list(Dataflow).index(dataflow) * 1000 + array[0] * 10 + array[1])
    operands = [random_operands(cfg, *shape, rng) for shape in SHAPES]
    for shape, (a, b), h in zip(SHAPES, operands, run_gemms(cfg, operands), strict=True):
        _check(cfg, shape, a, b, h)


@pytest.mark.parametrize(
    "changes",
    [
        {"input_bits": 2, "weight_bits": 2, "acc_bits": 4},  # ternary-capable operands, accumulator wraps
        {"input_signed": False, "weight_signed": False, "input_bits": 16, "weight_bits": 16, "acc_bits": 33},
        {"input_signed": False, "weight_bits": 3, "acc_bits": 11, "zero_gating": True},
        {"input_bits": 16, "weight_bits": 16, "acc_bits": 64, "zero_gating": True},
        {"weight_signed": False, "input_bits": 5, "weight_bits": 9, "acc_bits": 14},
    ],
    ids=["2bit-wrap", "u16", "mixed-sign-gated", "s16-acc64-gated", "mixed-sign-b"],
)
@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_operand_formats(dataflow, changes):
    cfg = ArrayConfig(rows=3, cols=2, dataflow=dataflow, word_bytes=2, **changes)
    rng = np.random.default_rng(7)
    shapes = [(7, 5, 3), (4, 3, 13)]
    operands = [random_operands(cfg, *s, rng, zero_fraction=0.3) for s in shapes]
    for shape, (a, b), h in zip(shapes, operands, run_gemms(cfg, operands), strict=True):
        _check(cfg, shape, a, b, h)


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_extreme_operands_wrap_like_the_reference(dataflow):
    cfg = ArrayConfig(rows=2, cols=2, dataflow=dataflow, input_bits=8, weight_bits=8, acc_bits=16)
    m, n, k = 3, 3, 9
    a = np.full((m, k), -128, dtype=np.int64)
    b = np.full((k, n), -128, dtype=np.int64)
    h = run_gemm(cfg, a, b)
    _check(cfg, (m, n, k), a, b, h)
    assert (h.result == (9 * 16384) % 65536 - 65536 * ((9 * 16384) % 65536 >= 32768)).all()


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_unrequested_lanes_are_masked_whatever_memory_returns(dataflow):
    cfg = ArrayConfig(rows=4, cols=3, dataflow=dataflow)
    rng = np.random.default_rng(3)
    a, b = random_operands(cfg, 5, 5, 5, rng)
    for seed in (None, 1, 2):
        _check(cfg, (5, 5, 5), a, b, run_gemm(cfg, a, b, junk_seed=seed))


@pytest.mark.parametrize("fold_overlap", [True, False], ids=["overlap", "serial"])
@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_first_request_in_the_cycle_after_start(dataflow, fold_overlap):
    """With fold_overlap the engine issues its first request in the cycle it accepts ``start`` (visible the
    cycle after, data one more cycle later: the SRAM's read latency); the serial sequencer latches the GEMM
    first, a cycle later."""
    cfg = ArrayConfig(rows=2, cols=2, dataflow=dataflow, fold_overlap=fold_overlap)
    rng = np.random.default_rng(4)
    a, b = random_operands(cfg, 3, 3, 3, rng)
    h = run_gemm(cfg, a, b)
    # harness cycle 0 is the cycle after the edge that captured start
    assert min(t for t, *_ in h.requests) == (0 if fold_overlap else 1)
    assert h.first_data_cycle == min(t for t, *_ in h.requests) + 1


def test_large_dimensions_fold_counts():
    """A long temporal dimension and many folds in one go (kept small enough for the Python simulator)."""
    serial = ArrayConfig(
        rows=2, cols=2, dataflow=Dataflow.WS, input_bits=4, weight_bits=4, acc_bits=12, fold_overlap=False
    )
    rng = np.random.default_rng(5)
    shape = (300, 3, 5)
    a, b = random_operands(serial, *shape, rng)
    for cfg in (serial, serial.replace(fold_overlap=True)):
        h = run_gemm(cfg, a, b)
        _check(cfg, shape, a, b, h)
    assert h.cycles == 1 + 6 * 300 + 2 + 2 - 1  # 6 folds of T = 300 after 1 cycle, then the pipeline


def test_zero_dimension_finishes_without_requests():
    cfg = ArrayConfig(rows=2, cols=2, dataflow=Dataflow.WS)
    dut = GemmEngine(cfg)
    seen = []

    async def bench(ctx):
        ctx.set(dut.dim_m, 0)
        ctx.set(dut.dim_n, 4)
        ctx.set(dut.dim_k, 4)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(8):
            await ctx.tick()
            seen.append(
                (ctx.get(dut.busy), ctx.get(dut.done), ctx.get(dut.west_req) | ctx.get(dut.north_req))
            )

    simulate(dut, bench)
    assert [d for _, d, _ in seen].count(1) == 1
    assert not any(r for *_, r in seen)
    assert seen[-1][0] == 0


def test_start_is_ignored_while_busy():
    cfg = ArrayConfig(rows=2, cols=2, dataflow=Dataflow.OS, tile_overlap=False)
    rng = np.random.default_rng(6)
    a, b = random_operands(cfg, 3, 3, 4, rng)
    dut = GemmEngine(cfg)
    h = GemmHarness(cfg, a, b)

    async def bench(ctx):
        values = h.inputs_for_start()
        for _ in range(h.expected_cycles + 20):
            for name, v in values.items():
                ctx.set(getattr(dut, name), v)
            await ctx.tick()
            values = h.step({name: ctx.get(getattr(dut, name)) for name in h.output_ports})
            # a second start with other dimensions while busy must change nothing
            values.update(start=1, dim_m=9, dim_n=9, dim_k=9)
            if h.done:
                break

    simulate(dut, bench)
    assert h.problems == []
    np.testing.assert_array_equal(h.result, reference(cfg, a, b))
    assert h.cycles == expected_cycles(cfg, 3, 3, 4)


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_operand_lanes_beyond_the_request_are_zeroed_in_hardware(dataflow):
    """Junk from memory on unrequested lanes and in cycles without a request never enters the array."""
    cfg = ArrayConfig(rows=3, cols=3, dataflow=dataflow)
    rng = np.random.default_rng(8)
    a, b = random_operands(cfg, 4, 5, 4, rng)
    dut = GemmEngine(cfg)
    h = GemmHarness(cfg, a, b, junk_seed=9)
    checked = []

    async def bench(ctx):
        values = h.inputs_for_start()
        # The inputs driven now are those of the cycle whose outputs were just sampled; its data
        # answers the requests of the cycle before.
        lanes_now = lanes_next = {"west": 0, "north": 0}
        for _ in range(h.expected_cycles + 20):
            for name, v in values.items():
                ctx.set(getattr(dut, name), v)
            for port, masked in (("west", dut.west_masked), ("north", dut.north_masked)):
                bits, _ = port_format(cfg, port)
                n = cfg.rows if port == "west" else cfg.cols
                got = unpack(ctx.get(masked), bits, n, False)
                raw = unpack(values[f"{port}_data"], bits, n, False)
                k = lanes_now[port]
                assert got[:k] == raw[:k] and got[k:] == [0] * (n - k)
                checked.append(k)
            await ctx.tick()
            sampled = {name: ctx.get(getattr(dut, name)) for name in h.output_ports}
            lanes_now, lanes_next = lanes_next, {p: sampled[f"{p}_lanes"] for p in ("west", "north")}
            values = h.step(sampled)
            if h.done:
                break

    simulate(dut, bench)
    assert h.problems == [] and h.done
    assert 0 in checked and max(checked) == 3 and any(0 < k < 3 for k in checked)


@pytest.mark.slow
@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_the_longest_temporal_dimension(dataflow):
    """T = 65535, the sequencer's 16-bit limit, on a 1x1 array (about 12 s each in the Python simulator)."""
    cfg = ArrayConfig(rows=1, cols=1, dataflow=dataflow, input_bits=2, weight_bits=2, acc_bits=8)
    shape = {Dataflow.OS: (1, 1, 65535), Dataflow.WS: (65535, 1, 1), Dataflow.IS: (1, 65535, 1)}[dataflow]
    a, b = random_operands(cfg, *shape, np.random.default_rng(11))
    h = run_gemm(cfg, a, b)
    assert h.problems == [] and h.done
    np.testing.assert_array_equal(h.result, reference(cfg, a, b))
    assert h.cycles == expected_cycles(cfg, *shape)
