"""cosim/toggles.py: toggle counts from VCD, by hand on a tiny VCD and against each other (fast NumPy reader
versus the vcdvcd reference) on real Icarus and Verilator VCDs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.toggles import CLASSES, canonical_name, classify, count_toggles, energy_rules
from systolic.errors import InputError

READERS = ("fast", "vcdvcd")
BUILD = Path(__file__).resolve().parents[2] / "build" / "test-sim"

# Codes: ! clock (aliased into a PE: still 'other'), " DRAM port, # multiplier operand, $ a bus that is a
# PE input under its second name, % accumulator, & a generated $-net, ' sequencer state, ( a real, ) a net
# named both product (acc) and mul_b (mult): the mult rule comes first in the table, so it wins.
TINY = """$date today $end
$timescale 1ps $end
$scope module top $end
$var wire 1 ! clk $end
$var wire 8 " dram_rdata [7:0] $end
$var wire 8 $ x_bus [7:0] $end
$scope module pe_0_0 $end
$var wire 1 ! clk $end
$var wire 8 # mul_a [7:0] $end
$var reg 16 % acc [15:0] $end
$var wire 2 ) product [1:0] $end
$var wire 2 ) mul_b [1:0] $end
$var wire 4 & \\$1 [3:0] $end
$upscope $end
$scope module pe_0_1 $end
$var wire 8 $ a_in [7:0] $end
$upscope $end
$scope module sequencer $end
$var reg 3 ' state [2:0] $end
$var real 64 ( temp $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
bx "
b0 #
b101 $
bx %
b0 &
b0 '
b0 )
r0.5 (
$end
#5
1!
b11111111 "
b1111 #
b10 $
b1x %
b11 )
r1.5 (
#10
0!
b11110000 "
bx111 #
b11 %
b1 &
b101 '
#15
1!
b0 #
b10 %
#20
0!
"""
# Expected toggles per code, worked by hand (x/z bits never count; short values are left-extended).
EXPECTED = {
    "top.clk": 4,  # 0->1->0->1->0
    "top.dram_rdata[7:0]": 4,  # x->ff (0), ff->f0 (4)
    "top.pe_0_0.mul_a[7:0]": 7,  # 0->0f (4), 0f->xxxxx111 (0), xxxxx111->0 (3: only the known bits)
    "top.pe_0_1.a_in[7:0]": 3,  # 00000101->00000010
    "top.pe_0_0.acc[15:0]": 1,  # x->..1x (0), ..1x->..11 (0), ..11->..10 (1)
    "top.pe_0_0.mul_b[1:0]": 2,  # 00->11
    "top.pe_0_0.\\$1[3:0]": 1,
    "top.sequencer.state[2:0]": 2,
}
EXPECTED_CLASS = {"mult": 9, "acc": 1, "fwd": 3, "dram": 4, "ctrl": 2, "other": 5}
EXPECTED_WINDOWS = {  # window_units=10: [0, 10), [10, 20), [20, 30)
    0: {"mult": 6, "fwd": 3, "other": 1},
    1: {"mult": 3, "acc": 1, "dram": 4, "ctrl": 2, "other": 3},
    2: {"other": 1},
}


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.vcd"
    path.write_text(TINY)
    return path


def _class_dict(counts: np.ndarray) -> dict[str, int]:
    return {c: int(n) for c, n in zip(CLASSES, counts.tolist(), strict=True) if n}


@pytest.mark.parametrize("reader", READERS)
def test_tiny_vcd_counts_by_hand(tiny, reader):
    got = count_toggles(tiny, reader=reader, window_units=10)
    assert got.by_name() == EXPECTED
    assert _class_dict(got.per_class) == EXPECTED_CLASS
    assert got.per_window.shape == (3, len(CLASSES))
    for w, expected in EXPECTED_WINDOWS.items():
        assert _class_dict(got.per_window[w]) == expected, w
    assert got.end_time == 20 and got.timescale_s == pytest.approx(1e-12)
    assert got.per_class.sum() == got.per_signal.sum()


def test_tiny_vcd_alias_rule_and_classes(tiny):
    got = count_toggles(tiny)
    cls = dict(zip(got.signal_names, [CLASSES[i] for i in got.signal_classes], strict=True))
    assert cls["top.pe_0_1.a_in[7:0]"] == "fwd"  # x_bus matched no rule; its second name did
    assert cls["top.pe_0_0.mul_b[1:0]"] == "mult"  # rule order beats declaration order
    assert cls["top.clk"] == "other" and cls["top.pe_0_0.\\$1[3:0]"] == "other"
    assert "top.sequencer.temp" not in got.signal_names  # reals are not counted
    assert got.per_window.shape == (1, len(CLASSES))  # no window asked for: one window
    widths = dict(zip(got.signal_names, got.signal_widths.tolist(), strict=True))
    assert got.bits_per_class[CLASSES.index("mult")] == widths["top.pe_0_0.mul_a[7:0]"] + 2


def test_tiny_vcd_small_chunks_give_the_same_counts(tiny):
    whole = count_toggles(tiny, window_units=3)
    for chunk in (1, 7, 40):  # chunk_bytes is clamped to 64 KiB; force tiny chunks through the reader
        from systolic.cosim import toggles

        reader = toggles._FastReader(tiny, toggles.read_header(tiny), 3, 1)
        reader.chunk_bytes = chunk
        per_signal, per_window, _ = reader.run()
        np.testing.assert_array_equal(per_signal, whole.per_signal)
        np.testing.assert_array_equal(per_window, whole.per_window[: len(per_window)])


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "variant",
    [
        lambda t: t.replace("\n", "\r\n"),  # CRLF line ends
        lambda t: t.rstrip("\n"),  # no newline after the last line
        lambda t: t.replace("#10\n", "#10\n$comment a note with spaces $end\n"),  # extra spaces in the body
    ],
    ids=["crlf", "no-final-newline", "comment"],
)
def test_file_variants_give_the_same_counts(tmp_path, reader, variant):
    path = tmp_path / "variant.vcd"
    path.write_bytes(variant(TINY).encode())
    assert count_toggles(path, reader=reader).by_name() == EXPECTED


def _random_vcd(rng: np.random.Generator) -> str:
    """A VCD with random widths, aliases, short and x/z values and repeated changes at one time."""
    n = int(rng.integers(1, 40))
    widths = rng.integers(1, 140, size=n)
    codes = [chr(33 + i % 94) + chr(33 + i // 94) * (i >= 94) for i in range(n)]
    head = ["$timescale 1ns $end", "$scope module top $end"]
    for i, (code, w) in enumerate(zip(codes, widths.tolist(), strict=True)):
        head.append(
            f"$var wire {w} {code} s{i} [{w - 1}:0] $end" if w > 1 else f"$var wire 1 {code} s{i} $end"
        )
        if rng.random() < 0.2:  # an alias in a sub-scope
            head += ["$scope module pe_0_0 $end", f"$var wire {w} {code} a_in $end", "$upscope $end"]
    head += ["$upscope $end", "$enddefinitions $end"]
    body, t = [], 0
    for _ in range(int(rng.integers(1, 300))):
        if rng.random() < 0.3:
            t += int(rng.integers(1, 7))
            body.append(f"#{t}")
        i = int(rng.integers(0, n))
        w = int(widths[i])
        length = int(rng.integers(1, w + 1))
        alphabet = "01" if rng.random() < 0.8 else "01xzXZ"
        bits = "".join(rng.choice(list(alphabet), size=length))
        body.append(f"{bits}{codes[i]}" if w == 1 else f"b{bits} {codes[i]}")
    return "\n".join(head + body) + "\n"


@pytest.mark.parametrize("seed", range(25))
def test_random_vcds_both_readers_agree(tmp_path, seed):
    from systolic.cosim import toggles

    path = tmp_path / "random.vcd"
    path.write_text(_random_vcd(np.random.default_rng(seed)))
    ref = count_toggles(path, reader="vcdvcd", window_units=5)
    fast = count_toggles(path, reader="fast", window_units=5)
    np.testing.assert_array_equal(fast.per_signal, ref.per_signal)
    np.testing.assert_array_equal(fast.per_window, ref.per_window)
    reader = toggles._FastReader(path, toggles.read_header(path), 5, 1)
    reader.chunk_bytes = 1 + seed * 13  # chunk boundaries everywhere, lines longer than a chunk
    per_signal, _, _ = reader.run()
    np.testing.assert_array_equal(per_signal, ref.per_signal)


def test_window_in_cycles(tiny):
    by_cycles = count_toggles(tiny, window_cycles=2, clock_period_s=5e-12)
    np.testing.assert_array_equal(by_cycles.per_window, count_toggles(tiny, window_units=10).per_window)
    with pytest.raises(InputError, match=r"window_cycles needs the clock period"):
        count_toggles(tiny, window_cycles=2)


def test_classify_and_names():
    assert canonical_name("top.\\busy$28") == "top.busy$28"
    assert canonical_name("top.array.pe_1_2.psum_out[31:0]") == "top.array.pe_1_2.psum_out"
    assert classify(["systolic_top.array.pe_1_2.psum_out[31:0]"]) == (
        CLASSES.index("fwd"),
        "systolic_top.array.pe_1_2.psum_out[31:0]",
    )
    assert CLASSES[classify(["systolic_top.skew_west.lane2_1[7:0]"])[0]] == "fwd"
    assert CLASSES[classify(["systolic_top.ifmap_sram.half0.rd_data[63:0]"])[0]] == "ifmap_sram"
    assert CLASSES[classify(["systolic_top.ctrl.state"])[0]] == "ctrl"
    assert CLASSES[classify(["$rootio.dram_rdata[7:0]"])[0]] == "other"  # Verilator's copy of the ports
    assert CLASSES[classify(["systolic_top.sequencer.$12"])[0]] == "other"
    # Amaranth makes a repeated name unique with a $N suffix: the second half's ports are named signals
    assert CLASSES[classify(["systolic_top.ofmap_sram.\\rd__data$29[127:0]"])[0]] == "ofmap_sram"
    assert CLASSES[classify(["systolic_top.ctrl.busy$28"])[0]] == "ctrl"
    custom = [(r"\.x_bus$", "fwd")]
    assert CLASSES[classify(["top.x_bus[7:0]"], custom)[0]] == "fwd"


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_energy_rules_count_each_register_once(dataflow):
    """For energy, a PE's input ports (the neighbour's output registers), OS's psum_out (= acc), WS/IS's
    b_out (= w) and the controller's data pass-through are left to 'other'; the psum register of WS/IS is
    the accumulator."""
    rules = energy_rules(dataflow)
    stationary = dataflow != "os"

    def cls(name: str) -> str:
        return CLASSES[classify([f"systolic_accel.core.array.{name}"], rules)[0]]

    assert cls("pe_1_2.a_in[7:0]") == cls("pe_1_2.b_in[7:0]") == cls("pe_1_2.psum_in[31:0]") == "other"
    assert cls("pe_1_2.a_out[7:0]") == "fwd"
    assert cls("pe_1_2.mul_a[7:0]") == cls("pe_1_2.hold_b[7:0]") == "mult"
    assert cls("pe_1_2.product[15:0]") == "acc"
    assert cls("pe_1_2.psum_out[31:0]") == ("acc" if stationary else "other")
    assert cls("pe_1_2.acc[31:0]") == ("other" if stationary else "acc")  # WS/IS PEs have no acc
    assert cls("pe_1_2.w[7:0]") == ("fwd" if stationary else "other")
    assert cls("pe_1_2.b_out[7:0]") == ("other" if stationary else "fwd")
    ctrl = [CLASSES[classify([f"systolic_accel.ctrl.{n}"], rules)[0]] for n in ("fill_a_data", "wr_shifted")]
    assert ctrl == ["other", "other"]
    assert CLASSES[classify(["systolic_accel.ctrl.rdreq_addr[47:0]"], rules)[0]] == "ctrl"
    assert (
        CLASSES[classify(["systolic_accel.dram_rd_data[31:0]", "systolic_accel.ctrl.dram_rd_data"], rules)[0]]
        == "dram"
    )
    assert CLASSES[classify(["systolic_accel.core.skew_west.lane2_1[7:0]"], rules)[0]] == "fwd"
    assert CLASSES[classify(["systolic_accel.ofmap_sram.rd__data[127:0]"], rules)[0]] == "ofmap_sram"


# --------------------------------------------------------------------------- corrupt files


def _corrupt(tmp_path, text: str, reader: str = "fast") -> str:
    path = tmp_path / "bad.vcd"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        count_toggles(path, reader=reader)
    return str(err.value).replace(str(path), "bad.vcd")


@pytest.mark.parametrize("reader", READERS)
def test_truncated_value_line_names_file_and_line(tmp_path, reader):
    cut = TINY[: TINY.index("b11110000 ") + len("b1111")]  # the file ends in the middle of a value
    msg = _corrupt(tmp_path, cut, reader)
    line = cut.count("\n") + 1
    assert (
        msg == f"bad.vcd: line {line}: vector value without an identifier code of 1-8 characters (truncated?)"
    )


def test_truncated_header(tmp_path):
    msg = _corrupt(tmp_path, TINY[: TINY.index("$enddefinitions")])
    assert msg == "bad.vcd: no $enddefinitions: not a VCD, or its header is truncated"


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        ("b10 %\n", "@@ %\n", "unexpected '@' at the start of a line (corrupt VCD?)"),
        ("b10 %\n", "b10 QQ\n", "unknown identifier code 'QQ'"),
        ("b101 '", "b1010 '", "value of 4 bits for a 3-bit signal"),
        ("#15\n", "#1x5\n", "timestamp is not a whole number"),
    ],
    ids=["garbage", "unknown-code", "too-wide", "bad-time"],
)
def test_corrupt_line_names_file_and_line(tmp_path, old, new, what):
    line = TINY[: TINY.index(old)].count("\n") + 1
    assert _corrupt(tmp_path, TINY.replace(old, new)) == f"bad.vcd: line {line}: {what}"


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope.vcd: no such file"):
        count_toggles(tmp_path / "nope.vcd")


# --------------------------------------------------------------------------- real simulator VCDs


def _waves(sim: str, cfg: ArrayConfig, m: int, n: int, k: int) -> Path:
    from systolic.cosim.runner import GemmCase, run_cases

    (row,) = run_cases(cfg, sim, [GemmCase(m, n, k, seed=7)], waves=True, root=BUILD, run_name="toggles")
    assert row.ok and row.waves
    return Path(row.waves)


CONFIGS = {
    # the same 2x2 WS build as test_runner's waves test, so the cache is shared
    "ws2x2": (ArrayConfig(name="t2x2", rows=2, cols=2, dataflow=Dataflow.WS), (5, 3, 4)),
    "os2x3": (ArrayConfig(name="tog", rows=2, cols=3, dataflow=Dataflow.OS, zero_gating=True), (4, 5, 6)),
}


@pytest.mark.sim
@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("sim", ("icarus", "verilator"))
def test_both_readers_agree_on_simulator_vcds(sim, name):
    cfg, (m, n, k) = CONFIGS[name]
    vcd = _waves(sim, cfg, m, n, k)
    period_s = 10e-9  # the testbench's clock
    fast = count_toggles(vcd, reader="fast", window_cycles=4, clock_period_s=period_s)
    ref = count_toggles(vcd, reader="vcdvcd", window_cycles=4, clock_period_s=period_s)
    assert fast.signal_names == ref.signal_names
    np.testing.assert_array_equal(fast.per_signal, ref.per_signal)
    np.testing.assert_array_equal(fast.per_window, ref.per_window)
    assert fast.end_time == ref.end_time
    # windows add up to the totals, and every class the RTL has is active
    np.testing.assert_array_equal(fast.per_window.sum(axis=0), fast.per_class)
    assert fast.per_class.sum() == fast.per_signal.sum()
    assert fast.window_units == round(4 * period_s / fast.timescale_s)
    assert fast.per_window.shape[0] == fast.end_time // fast.window_units + 1
    for cls in ("mult", "acc", "fwd", "ctrl"):
        assert fast.per_class[CLASSES.index(cls)] > 0, cls


@pytest.mark.sim
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_named_classes_toggle_alike_in_both_simulators(name):
    """The RTL's activity is the design's, not the simulator's: the named PE and controller signals
    toggle the same number of times under Icarus and Verilator."""
    cfg, (m, n, k) = CONFIGS[name]
    icarus = count_toggles(_waves("icarus", cfg, m, n, k))
    verilator = count_toggles(_waves("verilator", cfg, m, n, k))
    for cls in ("mult", "acc", "fwd", "ctrl"):
        i = CLASSES.index(cls)
        assert icarus.per_class[i] == verilator.per_class[i], cls


@pytest.mark.sim
def test_accelerator_vcd_attributes_memory_controller_and_dram():
    """The whole accelerator (top='accel': SRAM buffers, controller, DRAM ports): both readers agree and
    every class of the energy model sees activity."""
    from systolic.cosim.runner import GemmCase, run_cases

    cfg = ArrayConfig(name="togacc", rows=2, cols=2, dataflow=Dataflow.WS)
    (row,) = run_cases(
        cfg, "icarus", [GemmCase(5, 3, 4, seed=7)], waves=True, root=BUILD, top="accel", run_name="toggles"
    )
    assert row.ok and row.waves
    fast = count_toggles(row.waves)
    np.testing.assert_array_equal(fast.per_signal, count_toggles(row.waves, reader="vcdvcd").per_signal)
    for cls in CLASSES:
        assert fast.per_class[CLASSES.index(cls)] > 0, cls
