"""A cycle-level DRAM model and monitors around ``systolic_accel`` for one layer, shared by every simulator.

:class:`LayerHarness` holds A, B and C in a NumPy DRAM (each tensor contiguous along its array-port lane
axis, at its configured base address), answers read requests ``dram_latency_cycles`` after accepting them,
takes write beats, and counts what happens: cycles (``busy`` high), SRAM reads and writes per buffer as
the array and the DRAM port make them, DRAM words per tensor, and the six SCALE-Sim traces. Like
:class:`~systolic.cosim.harness.GemmHarness` it knows nothing about the simulator: an adapter samples the
DUT's outputs and the monitored internal signals once per cycle (at the falling edge), calls
:meth:`LayerHarness.step` and drives what it returns.

Pure Python and NumPy: no simulator, cocotb or amaranth import.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from systolic.config import ArrayConfig
from systolic.dataflow import PORT_MAP, TENSOR_DIMS
from systolic.geometry import BUFFER, CONV_PORTS, acc_signed, geometry, pixel_address, pixel_words
from systolic.model.memory import plan_conv_layer
from systolic.model.traces import TRACE_NAMES
from systolic.workload import ConvShape

from .harness import pack, reference, unpack

INPUT_PORTS: tuple[str, ...] = (
    "start",
    "dim_m",
    "dim_n",
    "dim_k",
    "tile_m",
    "tile_n",
    "tile_k",
    "dram_rd_req_ready",
    "dram_rd_data_valid",
    "dram_rd_data",
    "dram_wr_ready",
)
OUTPUT_PORTS: tuple[str, ...] = (
    "busy",
    "done",
    "dram_rd_req_valid",
    "dram_rd_req_addr",
    "dram_rd_req_len",
    "dram_wr_valid",
    "dram_wr_addr",
    "dram_wr_len",
    "dram_wr_data",
)
#: Internal signals the monitors read (``submodule.signal``): the array's memory-side ports and the tile
#: the controller is computing (its coordinates are tile-relative).
MONITORED: tuple[str, ...] = (
    *(f"core.{p}_{f}" for p in ("west", "north") for f in ("req", "row", "col", "lanes")),
    *(f"core.south_{f}" for f in ("valid", "row", "col", "lanes", "first")),
    "ctrl.cp_m0",
    "ctrl.cp_n0",
    "ctrl.cp_k0",
    "ctrl.cp_first_k",
)
#: With ``tile_overlap`` an output may belong to the tile before the compute tile: the controller's
#: ``out_*`` record says which tile the output on the south port is of.
MONITORED_OUT: tuple[str, ...] = ("ctrl.out_m0", "ctrl.out_n0", "ctrl.out_k0", "ctrl.out_first_k")


def monitored(cfg: ArrayConfig) -> tuple[str, ...]:
    """The internal signals :class:`LayerHarness` samples for ``cfg``'s accelerator."""
    return MONITORED + MONITORED_OUT if cfg.tiles_overlap else MONITORED


def dram_image(cfg: ArrayConfig, x: np.ndarray, tensor: str) -> np.ndarray:
    """``x`` flattened in its DRAM layout: contiguous along the lane axis of the port that carries it."""
    g = geometry(cfg)[tensor]
    lane_axis = TENSOR_DIMS[tensor].index(g.lane_dim)
    return np.ascontiguousarray(x if lane_axis == 1 else x.T).ravel()


def from_dram_image(cfg: ArrayConfig, flat: np.ndarray, tensor: str, shape: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`dram_image`."""
    g = geometry(cfg)[tensor]
    lane_axis = TENSOR_DIMS[tensor].index(g.lane_dim)
    return flat.reshape(shape) if lane_axis == 1 else flat.reshape(shape[::-1]).T


def _phase_image(conv: ConvShape, nhwc: np.ndarray) -> np.ndarray:
    """An OS or IS native layer's ifmap in DRAM, every element at :func:`systolic.geometry.pixel_address`
    (the stride's phase planes of H' x W' words per image and channel; at stride 1 the NCHW tensor), zeros
    in the padding words of a smaller phase."""
    image = np.zeros(pixel_words(conv), dtype=np.int64)
    b, h, w, c = np.indices(nhwc.shape)
    image[pixel_address(conv, b, c, h, w)] = nhwc
    return image


class LayerHarness:
    """DRAM, monitors and checks around ``systolic_accel`` for one layer C = A @ B.

    Parameters
    ----------
    cfg : ArrayConfig
        The configuration the DUT was generated from.
    a, b : numpy.ndarray
        A[M, K] and B[K, N].
    conv : ConvShape, optional
        The convolution A is the im2col matrix of; with ``conv_native`` (when the plan says the layer
        reads its ifmap natively) DRAM holds ``ifmap`` [batch, H, W, C] instead of A: NHWC, or NCHW
        on OS and IS (lanes along the output pixels).
    ifmap : numpy.ndarray, optional

    Attributes
    ----------
    done : bool
    cycles : int
        Cycles with ``busy`` high.
    result : numpy.ndarray
        C[M, N] as written to DRAM.
    counts : dict
        ``{'sram_reads': {buffer: words}, 'sram_writes': ..., 'dram_reads': ..., 'dram_writes': ...}``.
    traces : dict
        Trace name -> list of rows ``[cycle, address per lane...]`` (-1 for an idle lane), cycles counted
        from the layer's first busy cycle.
    problems : list of str
        Protocol violations (accesses outside a tensor, writes twice, ...). Empty for a correct DUT.
    """

    input_ports = INPUT_PORTS
    output_ports = OUTPUT_PORTS
    monitored = MONITORED
    #: The write-data bus carries SRAM contents nobody has written yet (X in Icarus) while not valid.
    may_be_unknown: tuple[str, ...] = ("dram_wr_data",)

    def __init__(
        self,
        cfg: ArrayConfig,
        a: np.ndarray,
        b: np.ndarray,
        conv: ConvShape | None = None,
        ifmap: np.ndarray | None = None,
    ):
        self.cfg = cfg
        self.monitored = monitored(cfg)
        self._out = "out" if cfg.tiles_overlap else "cp"  # the record outputs are addressed by
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        self.m, self.k = a.shape
        self.n = b.shape[1]
        self.tile, native = plan_conv_layer(cfg, self.m, self.n, self.k, conv=conv)
        self.conv = conv
        self.native = conv if native else None  # the layer reads its NHWC ifmap through bands
        self.geo = geometry(cfg)
        self.tensors = {"A": a, "B": b}
        self.shapes = {"A": (self.m, self.k), "B": (self.k, self.n), "C": (self.m, self.n)}
        self.images = {x: dram_image(cfg, self.tensors[x], x) for x in ("A", "B")}
        self.by_pixel = self.geo["A"].lane_dim == "m"  # OS, IS: A's lanes along the pixels, NCHW in DRAM
        if self.native is not None and self.by_pixel:
            self.images["A"] = _phase_image(conv, np.asarray(ifmap, dtype=np.int64))
        elif self.native is not None:
            nhwc = np.asarray(ifmap, dtype=np.int64).ravel()
            lanes = self.geo["A"].lanes  # the region is whole lines of P words (systolic.geometry)
            self.images["A"] = np.concatenate([nhwc, np.zeros(-nhwc.size % lanes, dtype=np.int64)])
        self.sizes = {x: int(self.images[x].size) if x in self.images else self.m * self.n for x in "ABC"}
        self.c_image = np.zeros(self.m * self.n, dtype=np.int64)
        self.c_written = np.zeros(self.m * self.n, dtype=np.int64)
        self.rd_bits = max(cfg.input_bits, cfg.weight_bits)
        self.bw = cfg.dram_bw_words_per_cycle
        self.latency = cfg.dram_latency_cycles
        self._returns: dict[int, int] = {}  # cycle -> packed read data to present in it
        self._cycle = 0
        self._started = False
        self.first_busy: int | None = None
        self.cycles = 0
        self.done = False
        self.problems: list[str] = []
        self.counts = {
            kind: dict.fromkeys(BUFFER.values(), 0)
            for kind in ("sram_reads", "sram_writes", "dram_reads", "dram_writes")
        }
        self.traces: dict[str, list[list[int]]] = defaultdict(list)
        self._pending_write: list[int] | None = None  # the ofmap SRAM write of the next cycle

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def idle_inputs(cfg: ArrayConfig) -> dict[str, int]:
        conv = dict.fromkeys(("conv_en", *CONV_PORTS), 0) if cfg.convs_native else {}
        return {**dict.fromkeys(INPUT_PORTS, 0), **conv, "dram_rd_req_ready": 1, "dram_wr_ready": 1}

    def inputs_for_start(self) -> dict[str, int]:
        tm, tn, tk = self.tile
        out = {
            **self.idle_inputs(self.cfg),
            "start": 1,
            "dim_m": self.m,
            "dim_n": self.n,
            "dim_k": self.k,
            "tile_m": tm,
            "tile_n": tn,
            "tile_k": tk,
        }
        cv = self.native
        if cv is not None:
            out |= {
                "conv_en": 1,
                "conv_h": cv.ifmap_h,
                "conv_w": cv.ifmap_w,
                "conv_c": cv.channels,
                "conv_r": cv.filter_h,
                "conv_s": cv.filter_w,
                "conv_stride_h": cv.stride_h,
                "conv_stride_w": cv.stride_w,
                "conv_pad_h": cv.pad_h,
                "conv_pad_w": cv.pad_w,
                "conv_oh": cv.ofmap_h,
                "conv_ow": cv.ofmap_w,
            }
        return out

    @property
    def result(self) -> np.ndarray:
        return from_dram_image(self.cfg, self.c_image, "C", self.shapes["C"])

    def expected(self) -> np.ndarray:
        return reference(self.cfg, self.tensors["A"], self.tensors["B"])

    # ------------------------------------------------------------------ one cycle
    def step(self, sampled: dict[str, int]) -> dict[str, int]:
        """Consume the outputs and monitored signals sampled mid-cycle; return the inputs to drive next.

        A value returned by the call for cycle t is on the DUT's inputs during cycle t (captured by the
        rising edge that ends it), as with :class:`~systolic.cosim.harness.GemmHarness`; read data for a
        request accepted in cycle t is returned by the call for cycle t + L.
        """
        t = self._cycle
        self._cycle += 1
        busy = bool(sampled["busy"])
        self._started = self._started or busy
        drive = self.inputs_for_start() if not self._started else self.idle_inputs(self.cfg)
        if busy:
            if self.first_busy is None:
                self.first_busy = t
            self.cycles += 1
        rel = t - (self.first_busy if self.first_busy is not None else t)
        if self._pending_write is not None:
            self.traces["OFMAP_SRAM_TRACE"].append([rel, *self._pending_write])
            self._pending_write = None
        if busy:
            self._monitor_array(rel, sampled)
        if sampled["dram_rd_req_valid"]:
            self._read_request(t, rel, sampled["dram_rd_req_addr"], sampled["dram_rd_req_len"])
        if sampled["dram_wr_valid"]:
            self._write_beat(rel, sampled["dram_wr_addr"], sampled["dram_wr_len"], sampled["dram_wr_data"])
        word = self._returns.pop(t, None)
        if word is not None:
            drive["dram_rd_data_valid"] = 1
            drive["dram_rd_data"] = word
        if sampled["done"] and not self.done:
            self.done = True
            self._check_complete()
        return drive

    # ------------------------------------------------------------------ DRAM
    def _region(self, addr: int, length: int, tensors: tuple[str, ...]) -> tuple[str, int] | None:
        for x in tensors:
            base = self.geo[x].offset
            size = self.sizes[x]
            if base <= addr and addr + length <= base + size:
                return x, addr - base
        return None

    def _read_request(self, t: int, rel: int, addr: int, length: int) -> None:
        found = self._region(addr, length, ("A", "B")) if 1 <= length <= self.bw else None
        if found is None:
            self.problems.append(f"cycle {rel}: DRAM read of {length} words at {addr} outside A and B")
            self._returns[t + self.latency] = 0
            return
        x, index = found
        words = self.images[x][index : index + length]
        self._returns[t + self.latency] = pack(words, self.rd_bits)
        buf = BUFFER[x]
        self.counts["dram_reads"][buf] += length
        self.counts["sram_writes"][buf] += length
        self.traces[f"{buf.upper()}_DRAM_TRACE"].append(
            [rel, *range(addr, addr + length), *([-1] * (self.bw - length))]
        )

    def _write_beat(self, rel: int, addr: int, length: int, data: int) -> None:
        found = self._region(addr, length, ("C",)) if 1 <= length <= self.bw else None
        if found is None:
            self.problems.append(f"cycle {rel}: DRAM write of {length} words at {addr} outside C")
            return
        _, index = found
        values = unpack(data, self.cfg.acc_bits, length, acc_signed(self.cfg))
        self.c_image[index : index + length] = values
        self.c_written[index : index + length] += 1
        self.counts["dram_writes"]["ofmap"] += length
        self.counts["sram_reads"]["ofmap"] += length  # the drain reads the shadow half
        idle = [-1] * (self.bw - length)
        self.traces["OFMAP_DRAM_TRACE"].append([rel, *range(addr, addr + length), *idle])

    # ------------------------------------------------------------------ array-side monitors
    def _addresses(self, tensor: str, port: str, row: int, col: int, lanes: int, origin: dict) -> list[int]:
        """DRAM addresses of the lanes of a vector at tile coordinates (row, col), -1 for idle lanes."""
        g = self.geo[tensor]
        dims = TENSOR_DIMS[tensor]
        coord = {dims[0]: row + origin[dims[0]], dims[1]: col + origin[dims[1]]}
        if tensor == "A" and self.native is not None and self.by_pixel:
            return [
                self._ifmap_address(coord["m"] + i, coord["k"]) if i < lanes else -1 for i in range(g.lanes)
            ]
        if tensor == "A" and self.native is not None:
            return [
                self._ifmap_address(coord["m"], coord["k"] + i) if i < lanes else -1 for i in range(g.lanes)
            ]
        pitch = self.shapes[tensor][dims.index(g.lane_dim)]
        start = g.offset + coord[g.other_dim] * pitch + coord[g.lane_dim]
        return [start + i if i < lanes else -1 for i in range(g.lanes)]

    def _ifmap_address(self, m: int, k: int) -> int:
        """conv_native: the NHWC (OS, IS: NCHW) word im2col element (m, k) is, -1 in the padding."""
        cv = self.native
        b, pixel = divmod(m, cv.ofmap_h * cv.ofmap_w)
        oh, ow = divmod(pixel, cv.ofmap_w)
        r, rest = divmod(k, cv.filter_w * cv.channels)
        s, c = divmod(rest, cv.channels)
        h, w = oh * cv.stride_h - cv.pad_h + r, ow * cv.stride_w - cv.pad_w + s
        if not (0 <= h < cv.ifmap_h and 0 <= w < cv.ifmap_w):
            return -1
        if self.by_pixel:
            return self.geo["A"].offset + int(pixel_address(cv, b, c, h, w))
        return self.geo["A"].offset + ((b * cv.ifmap_h + h) * cv.ifmap_w + w) * cv.channels + c

    def _monitor_array(self, rel: int, s: dict[str, int]) -> None:
        origin = {"m": s["ctrl.cp_m0"], "n": s["ctrl.cp_n0"], "k": s["ctrl.cp_k0"]}
        for port in ("west", "north"):
            if s[f"core.{port}_req"]:
                x = PORT_MAP[self.cfg.dataflow][port].tensor
                lanes = s[f"core.{port}_lanes"]
                addrs = self._addresses(x, port, s[f"core.{port}_row"], s[f"core.{port}_col"], lanes, origin)
                self.traces[f"{BUFFER[x].upper()}_SRAM_TRACE"].append([rel, *addrs])
                self.counts["sram_reads"][BUFFER[x]] += lanes
        if s["core.south_valid"]:
            lanes = s["core.south_lanes"]
            out = {d: s[f"ctrl.{self._out}_{d}0"] for d in "mnk"}
            addrs = self._addresses("C", "south", s["core.south_row"], s["core.south_col"], lanes, out)
            self._pending_write = addrs  # written to the ofmap SRAM in the next cycle
            self.counts["sram_writes"]["ofmap"] += lanes
            if not (s["core.south_first"] and s[f"ctrl.{self._out}_first_k"]):
                self.counts["sram_reads"]["ofmap"] += lanes  # read-modify-write

    def _check_complete(self) -> None:
        bad = int(np.count_nonzero(self.c_written != 1))
        if bad:
            self.problems.append(f"{bad} outputs not written to DRAM exactly once")

    def trace_arrays(self) -> dict[str, np.ndarray]:
        """The recorded traces as int64 arrays [row, 1 + lanes] (empty arrays for traces with no rows)."""
        widths = {
            "IFMAP_SRAM_TRACE": self.geo["A"].lanes,
            "FILTER_SRAM_TRACE": self.geo["B"].lanes,
            "OFMAP_SRAM_TRACE": self.geo["C"].lanes,
            "IFMAP_DRAM_TRACE": self.bw,
            "FILTER_DRAM_TRACE": self.bw,
            "OFMAP_DRAM_TRACE": self.bw,
        }
        return {
            name: np.array(self.traces.get(name, []), dtype=np.int64).reshape(-1, 1 + widths[name])
            for name in TRACE_NAMES
        }
