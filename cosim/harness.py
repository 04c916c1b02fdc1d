"""A cycle-level bus-functional model of the GEMM engine's surroundings, shared by every simulator.

:class:`GemmHarness` plays the three memories around ``systolic_top`` for one GEMM: it answers operand
requests one cycle later (synchronous-SRAM latency), accumulates the output vectors the way the ofmap
memory does (overwrite when ``south_first``, else add and wrap to ``acc_bits``), and counts cycles the
way the timing contract defines them. It knows nothing about the simulator: a thin adapter (cocotb, or
amaranth.sim in :mod:`systolic.cosim.amaranth_sim`) samples the DUT's outputs once per cycle, mid-cycle
(at the falling edge), calls :meth:`GemmHarness.step`, and drives the values it returns; the next rising
edge captures them. Which tensor each port reads or writes, and along which axis its lanes run, comes
from :data:`systolic.dataflow.PORT_MAP`.

Pure Python and NumPy: no simulator, cocotb or amaranth import.
"""

from __future__ import annotations

import math

import numpy as np

from systolic.config import ArrayConfig
from systolic.dataflow import MAPPINGS, OPERAND_PORTS, PORT_MAP, STATIONARY, port_lanes
from systolic.geometry import acc_signed, operand_bounds, port_format
from systolic.model.cycles import GemmArrays, compute_cycles
from systolic.model.functional import digital_gemm, wrap  # noqa: F401 (wrap: re-exported for cosim)

#: Inputs of ``systolic_top`` the harness drives (clock and reset belong to the adapter).
INPUT_PORTS: tuple[str, ...] = ("start", "dim_m", "dim_n", "dim_k", "west_data", "north_data")
#: Outputs of ``systolic_top`` the harness needs sampled every cycle.
OUTPUT_PORTS: tuple[str, ...] = (
    "busy",
    "done",
    *(f"{p}_{f}" for p in OPERAND_PORTS for f in ("req", "row", "col", "lanes")),
    "south_valid",
    "south_row",
    "south_col",
    "south_lanes",
    "south_first",
    "south_data",
)


def expected_cycles(cfg: ArrayConfig, m: int, n: int, k: int) -> int:
    """Cycles of one M x N x K GEMM: the analytical model's prediction, which every simulator run of the
    RTL must equal (the timing contract is in ``GemmEngine``'s docstring and the README).
    """
    return int(compute_cycles(cfg, GemmArrays.of(m, n, k)).cycles_per_gemm[0])


def reference(cfg: ArrayConfig, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A @ B wrapped to ``acc_bits`` (two's complement if either operand is signed), as int64: the
    model's bit-true arithmetic of the array (:func:`systolic.model.functional.digital_gemm`), which
    every simulator run must equal."""
    return digital_gemm(a, b, cfg.acc_bits, acc_signed(cfg), cfg.weight_format == "ternary")


def operand_range(bits: int, signed: bool) -> tuple[int, int]:
    """Smallest and largest value of an operand (inclusive)."""
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def random_operands(
    cfg: ArrayConfig, m: int, n: int, k: int, rng: np.random.Generator, zero_fraction: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Random A[M,K] and B[K,N] (int64) over the full range of their formats.

    A signed 2-bit operand takes -2..1; ternary weights (``weight_format``) take -1, 0, 1.
    ``zero_fraction`` of the elements
    are forced to zero (to exercise zero gating).
    """
    a = random_tensor(cfg, "A", (m, k), rng, zero_fraction)
    b = random_tensor(cfg, "B", (k, n), rng, zero_fraction)
    return a, b


def random_tensor(
    cfg: ArrayConfig,
    tensor: str,
    shape: tuple[int, ...],
    rng: np.random.Generator,
    zero_fraction: float = 0.0,
) -> np.ndarray:
    """Random values (int64) of any ``shape`` over the full range of ``tensor``'s ('A' or 'B') format."""
    lo, hi = operand_bounds(cfg, tensor)
    x = rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
    if zero_fraction:
        x[rng.random(shape) < zero_fraction] = 0
    return x


def pack(values, bits: int) -> int:
    """Lanes (lane 0 first) as one integer, lane i at bits [i*bits, (i+1)*bits)."""
    mask = (1 << bits) - 1
    word = 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * bits)
    return word


def unpack(word: int, bits: int, lanes: int, signed: bool) -> list[int]:
    """The first ``lanes`` lanes of a packed bus."""
    mask = (1 << bits) - 1
    out = []
    for i in range(lanes):
        v = (word >> (i * bits)) & mask
        if signed and v >> (bits - 1):
            v -= 1 << bits
        out.append(v)
    return out


def _block_end(lane_axis: int, row: int, col: int, lanes: int) -> tuple[int, int]:
    """End (exclusive) of the rows and columns a vector of ``lanes`` lanes from ``(row, col)`` covers."""
    return (row + lanes, col + 1) if lane_axis == 0 else (row + 1, col + lanes)


class GemmHarness:
    """Memories, output accumulation and cycle counting around ``systolic_top`` for one GEMM.

    Parameters
    ----------
    cfg : ArrayConfig
        The configuration the DUT was generated from.
    a, b : numpy.ndarray
        A[M, K] and B[K, N], integers within their formats' ranges.
    junk_seed : int, optional
        When given, lanes the DUT did not ask for and cycles without a request carry random junk
        (the DUT must mask them); otherwise they carry zeros.

    Attributes
    ----------
    done : bool
        The DUT pulsed ``done``.
    cycles : int or None
        Last cycle with ``south_valid`` minus first cycle with operand data, plus one.
    result : numpy.ndarray
        C[M, N] (int64) as accumulated from the south port.
    problems : list of str
        Protocol violations seen (requests or outputs outside the tensors, adds before the first
        write, outputs after done, ...). Empty for a correct DUT.
    requests, outputs : list of tuple
        Every request ``(cycle, port, row, col, lanes)`` and output ``(cycle, row, col, lanes, first)``,
        cycle numbers counted from the first :meth:`step` (cycle 0).
    """

    output_ports = OUTPUT_PORTS
    input_ports = INPUT_PORTS
    monitored: tuple[str, ...] = ()  # every signal it needs is a port
    may_be_unknown: tuple[str, ...] = ()

    def __init__(self, cfg: ArrayConfig, a: np.ndarray, b: np.ndarray, *, junk_seed: int | None = None):
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"A and B must be M x K and K x N matrices, not {a.shape} and {b.shape}")
        self.cfg = cfg
        self.m, self.k = a.shape
        self.n = b.shape[1]
        for name, value in (("m", self.m), ("n", self.n), ("k", self.k)):
            if not 1 <= value <= 65535:
                raise ValueError(f"{name} must be in 1..65535, not {value}")
        self.tensors = {"A": a, "B": b}
        self.result = np.zeros((self.m, self.n), dtype=np.int64)
        self._written = np.zeros((self.m, self.n), dtype=np.int64)  # writes per element
        self._acc_bits = cfg.acc_bits
        self._acc_signed = acc_signed(cfg)
        self._junk = None if junk_seed is None else np.random.default_rng(junk_seed)
        self._pending: dict[str, int | None] = dict.fromkeys(OPERAND_PORTS)
        self._cycle = 0
        self._started = False
        self.first_data_cycle: int | None = None
        self.last_output_cycle: int | None = None
        self.done_cycle: int | None = None
        self.done = False
        self.problems: list[str] = []
        self.requests: list[tuple[int, str, int, int, int]] = []
        self.outputs: list[tuple[int, int, int, int, int]] = []

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def idle_inputs(cfg: ArrayConfig) -> dict[str, int]:
        """Input values while no GEMM runs (during reset, between GEMMs)."""
        return dict.fromkeys(INPUT_PORTS, 0)

    def inputs_for_start(self) -> dict[str, int]:
        """Inputs that start the GEMM: its dimensions and ``start``.

        :meth:`step` keeps ``start`` high until it samples ``busy`` high, so the DUT sees it at a rising
        edge whatever the phase the adapter first drives it in (the DUT ignores ``start`` while busy).
        """
        return {
            **self.idle_inputs(self.cfg),
            "start": 1,
            "dim_m": self.m,
            "dim_n": self.n,
            "dim_k": self.k,
        }

    @property
    def expected_cycles(self) -> int:
        """:func:`expected_cycles` of this GEMM."""
        return expected_cycles(self.cfg, self.m, self.n, self.k)

    @property
    def cycles(self) -> int | None:
        if self.first_data_cycle is None or self.last_output_cycle is None:
            return None
        return self.last_output_cycle - self.first_data_cycle + 1

    # ------------------------------------------------------------------ one cycle
    def step(self, sampled: dict[str, int]) -> dict[str, int]:
        """Consume the DUT's outputs sampled mid-cycle; return the inputs to drive from now on.

        Data for a request sampled in cycle t is returned by the call for cycle t+1, so it is on the
        data port during cycle t+1 (captured by the rising edge that ends it).
        """
        t = self._cycle
        self._cycle += 1
        self._started = self._started or bool(sampled["busy"])
        drive = {"start": int(not self._started), "dim_m": self.m, "dim_n": self.n, "dim_k": self.k}
        for port in OPERAND_PORTS:
            word = self._pending[port]
            if word is not None:
                if self.first_data_cycle is None:
                    self.first_data_cycle = t
            else:
                word = self._junk_word(port)
            drive[f"{port}_data"] = word
            self._pending[port] = self._read(t, port, sampled) if sampled[f"{port}_req"] else None
        if sampled["south_valid"]:
            self._write(t, sampled)
        if sampled["done"] and not self.done:
            self.done = True
            self.done_cycle = t
            self._check_complete()
        return drive

    # ------------------------------------------------------------------ memories
    def _junk_word(self, port: str, keep: int = 0, word: int = 0) -> int:
        """Random bits in every lane from ``keep`` on (none without a junk seed)."""
        if self._junk is None:
            return word
        bits, _ = port_format(self.cfg, port)
        lanes = port_lanes(self.cfg.rows, self.cfg.cols, port)
        junk = pack(self._junk.integers(0, 1 << bits, size=lanes - keep), bits)
        return word | (junk << (keep * bits))

    def _read(self, t: int, port: str, sampled: dict[str, int]) -> int:
        row, col, lanes = (sampled[f"{port}_{f}"] for f in ("row", "col", "lanes"))
        self.requests.append((t, port, row, col, lanes))
        pm = PORT_MAP[self.cfg.dataflow][port]
        x = self.tensors[pm.tensor]
        if not 1 <= lanes <= port_lanes(self.cfg.rows, self.cfg.cols, port):
            self.problems.append(f"cycle {t}: {port} request for {lanes} lanes")
            return self._junk_word(port)
        r_end, c_end = _block_end(pm.lane_axis, row, col, lanes)
        if r_end > x.shape[0] or c_end > x.shape[1]:
            self.problems.append(
                f"cycle {t}: {port} request {pm.tensor}[{row}:{r_end}, {col}:{c_end}] outside {x.shape}"
            )
            return self._junk_word(port)
        vector = x[row:r_end, col:c_end].ravel()
        bits, _ = port_format(self.cfg, port)
        return self._junk_word(port, keep=lanes, word=pack(vector, bits))

    def _write(self, t: int, sampled: dict[str, int]) -> None:
        row, col, lanes, first = (sampled[f"south_{f}"] for f in ("row", "col", "lanes", "first"))
        self.outputs.append((t, row, col, lanes, first))
        self.last_output_cycle = t
        if self.done:
            self.problems.append(f"cycle {t}: output after done")
        r_end, c_end = _block_end(PORT_MAP[self.cfg.dataflow]["south"].lane_axis, row, col, lanes)
        where = f"C[{row}:{r_end}, {col}:{c_end}]"
        if not 1 <= lanes <= self.cfg.cols or r_end > self.m or c_end > self.n:
            self.problems.append(f"cycle {t}: output {where} outside {(self.m, self.n)}")
            return
        target = (slice(row, r_end), slice(col, c_end))
        lane_values = unpack(sampled["south_data"], self._acc_bits, lanes, self._acc_signed)
        values = np.array(lane_values, dtype=np.int64).reshape(self.result[target].shape)
        written = self._written[target]
        if first:
            if written.any():
                self.problems.append(f"cycle {t}: first write to {where} written before")
            self.result[target] = values
        else:
            if not written.all():
                self.problems.append(f"cycle {t}: add to {where} before its first write")
            with np.errstate(over="ignore"):
                self.result[target] = wrap(self.result[target] + values, self._acc_bits, self._acc_signed)
        self._written[target] += 1

    def _check_complete(self) -> None:
        if STATIONARY[self.cfg.dataflow] == "output":
            want = 1
        else:
            sr_dim = {"m": self.m, "n": self.n, "k": self.k}[MAPPINGS[self.cfg.dataflow].spatial_rows]
            want = math.ceil(sr_dim / self.cfg.rows)
        bad = int(np.count_nonzero(self._written != want))
        if bad:
            self.problems.append(f"{bad} outputs not written exactly {want} time(s) when done")
        if self.last_output_cycle is not None and self.done_cycle != self.last_output_cycle + 1:
            self.problems.append(
                f"done in cycle {self.done_cycle}, not right after the last output ({self.last_output_cycle})"
            )
