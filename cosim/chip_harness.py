"""A cycle-level DRAM model and monitors around ``systolic_chip`` (:class:`systolic.hdl.chip.Chip`), shared by
every simulator, and the model's schedule of the same pipeline.

:class:`ChipHarness` plays the chip's shared DRAM channels (``dram<c>_*``): every tile's slot on its
channel the way :class:`~systolic.cosim.mem_harness.LayerHarness` plays one accelerator's DRAM (answers
``dram_latency_cycles`` after a request, in the slot's lane, takes write beats), with the images of the
layer and batch item the tile is running (the chip's ``tile<t>_start``, ``_layer`` and ``_item`` say
which); it checks that no channel carries more than ``dram_words_per_cycle`` words per cycle each way and
no slot more than its lane, and records every stage's and link's start, finish and departure of every item.
:func:`model_times` gives the same three from :func:`systolic.model.chip.mapping.evaluate` (the tandem
line); a correct RTL equals it to the cycle: busy ``[start, finish]``, blocked ``[finish, depart]`` and
starved ``[previous depart, start]`` intervals of every tile and link. Outputs are checked bit-exact
against the NumPy chain (:func:`reference_chain`).

Pure Python and NumPy: no simulator, cocotb or amaranth import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from systolic.chip_config import LINK_HOLD, ChipConfig, ChipPipeline
from systolic.config import ArrayConfig, Dataflow
from systolic.geometry import ADDR_BITS, acc_signed, geometry
from systolic.model.functional import wrap

from .harness import pack, random_tensor, reference, unpack
from .mem_harness import dram_image, from_dram_image

#: The cosim's tile: a 4x4 weight-stationary accelerator with a 2-word DRAM port (latency 3) and buffers
#: that hold the small layers' tiles whole.
CHIP_TILE = dict(
    rows=4,
    cols=4,
    dataflow=Dataflow.WS,
    conv_native=False,
    dram_bw_words_per_cycle=2,
    dram_latency_cycles=3,
    ifmap_sram_bytes=512,
    filter_sram_bytes=512,
    ofmap_sram_bytes=1024,
)


@dataclass(frozen=True)
class ChipCase:
    """One chip cosim case: a grid, a chain of layers cut into stages placed on it, a batch."""

    name: str
    rows: int
    cols: int
    layers: tuple[tuple[int, int, int], ...]
    stage_of: tuple[int, ...]
    order: tuple[int, ...]
    batch: int
    fifo_depth: int = 1
    link_words_per_cycle: int = 4
    hop_cycles: int = 1
    seed: int = 0
    tile: dict = field(default_factory=lambda: dict(CHIP_TILE))
    dram_channels: int | None = None  # None: one channel per grid tile, of the tile's own width
    dram_words_per_cycle: int | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["tile"] = {k: (v.value if isinstance(v, Dataflow) else v) for k, v in self.tile.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ChipCase:
        d = dict(d)
        d["layers"] = tuple(tuple(x) for x in d["layers"])
        d["stage_of"], d["order"] = tuple(d["stage_of"]), tuple(d["order"])
        d["tile"] = {k: (Dataflow(v) if k == "dataflow" else v) for k, v in d["tile"].items()}
        return cls(**d)


def chip_setup(case: ChipCase) -> tuple[ChipConfig, ChipPipeline]:
    """The case's chip and pipeline. Unless the case sets them, the chip's DRAM has a channel of the
    tile's own bandwidth per grid tile (every lane is then the tile's own width)."""
    from systolic.model.memory import plan_conv_layer

    tile = ArrayConfig(name=f"{case.name}-tile", **case.tile)
    chip = ChipConfig(
        case.name,
        case.rows,
        case.cols,
        tile,
        tile.name,
        link_words_per_cycle=case.link_words_per_cycle,
        hop_cycles=case.hop_cycles,
        fifo_depth=case.fifo_depth,
        dram_channels=case.dram_channels or case.rows * case.cols,
        dram_words_per_cycle=case.dram_words_per_cycle or tile.dram_bw_words_per_cycle,
    )
    sizes = tuple(plan_conv_layer(tile, m, n, k)[0] for m, n, k in case.layers)
    return chip, ChipPipeline(
        case.layers, tuple(tuple(int(x) for x in t) for t in sizes), case.stage_of, case.order
    )


def case_tensors(cfg: ArrayConfig, case: ChipCase) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Seeded random inputs A[M, K] of every batch item and weights B[K, N] of every layer."""
    rng = np.random.default_rng(case.seed)
    m, _, k = case.layers[0]
    inputs = [random_tensor(cfg, "A", (m, k), rng) for _ in range(case.batch)]
    weights = [random_tensor(cfg, "B", (k_, n_), rng) for _, n_, k_ in case.layers]
    return inputs, weights


def reference_chain(cfg: ArrayConfig, a: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """The last layer's C of one item: every layer's C = A @ B wrapped to ``acc_bits``, the next layer's A
    its low ``input_bits``."""
    c = a
    for i, b in enumerate(weights):
        c = reference(cfg, a, b)
        if i < len(weights) - 1:
            a = wrap(c, cfg.input_bits, cfg.input_signed)
    return c


def model_times(chip: ChipConfig, pipe: ChipPipeline, batch: int) -> dict[str, np.ndarray]:
    """``start``, ``finish`` and ``depart`` ``[server, item]`` (stage ``s`` at ``2s``, its link at ``2s +
    1``) of the pipeline in :func:`systolic.model.chip.mapping.evaluate`, in cycles from the chip's start."""
    from systolic.formats.calibration import load_calibration
    from systolic.model.chip.costs import tile_costs
    from systolic.model.chip.mapping import Mappings, evaluate
    from systolic.model.cycles import GemmArrays

    layers = np.array(pipe.layers)
    gemm = GemmArrays.of(layers[:, 0], layers[:, 1], layers[:, 2])
    costs = tile_costs(chip.lane_tile(), gemm, 1, calibration=load_calibration()[0])
    tiles = np.zeros((1, chip.tiles), dtype=np.int64)
    tiles[0, : pipe.stages] = 1
    rest = [t for t in range(chip.tiles) if t not in pipe.order]
    maps = Mappings(np.array([pipe.stage_of]), tiles, np.array([[*pipe.order, *rest]]))
    line = evaluate(chip, costs, maps, batch).line
    n = 2 * pipe.stages - 1
    return {
        "start": line.start[0, :n],
        "finish": line.finish[0, :n],
        "depart": line.depart[0, :n],
    }


class _Lane:
    """One tile's DRAM lane: the images of the layer and item it runs, and the reads in flight."""

    def __init__(self) -> None:
        self.returns: dict[int, int] = {}
        self.layer: int | None = None
        self.item: int | None = None
        self.images: dict[str, np.ndarray] = {}
        self.c_image: np.ndarray | None = None
        self.c_written: np.ndarray | None = None


class ChipHarness:
    """DRAM lanes, monitors and checks around ``systolic_chip`` for one case (module docstring).

    Attributes
    ----------
    done : bool
    cycles : int
        From the chip's first busy cycle to the last stage's departure of the last item (the makespan).
    times : dict
        ``start``, ``finish``, ``depart`` -> ``[server, item]`` as recorded (-1 where never seen).
    outputs : list of numpy.ndarray or None
        The last stage's C of every item as written to DRAM.
    problems : list of str
    """

    may_be_unknown: tuple[str, ...] = ()

    def __init__(self, chip: ChipConfig, pipe: ChipPipeline, batch: int, inputs, weights):
        self.chip, self.pipe, self.batch = chip, pipe, batch
        self.cfg = chip.lane_tile()
        self.inputs = [np.asarray(a, dtype=np.int64) for a in inputs]
        self.weights = [np.asarray(b, dtype=np.int64) for b in weights]
        self.geo = geometry(self.cfg)
        self.bw, self.latency = self.cfg.dram_bw_words_per_cycle, self.cfg.dram_latency_cycles
        self.rd_bits = max(self.cfg.input_bits, self.cfg.weight_bits)
        self.lanes = [_Lane() for _ in range(pipe.stages)]
        self.produced: dict[tuple[int, int], np.ndarray] = {}  # (layer, item) -> C kept in DRAM
        self.outputs: list[np.ndarray | None] = [None] * batch
        n_srv = 2 * pipe.stages - 1
        self.times = {k: np.full((n_srv, batch), -1, dtype=np.int64) for k in ("start", "finish", "depart")}
        self._seen = {k: [0] * n_srv for k in self.times}
        self._link_prev = [(0, 0)] * (pipe.stages - 1)  # (state, deliver) of the previous cycle
        self._cycle = 0
        self.origin: int | None = None
        self.cycles = 0
        self.done = False
        self.problems: list[str] = []
        self.ws = [0] * pipe.stages  # words over each tile's DRAM lane
        self.slot = [chip.channel_slot(t) for t in pipe.order]  # [stage] (channel, slot)
        self.len_bits = self.bw.bit_length()
        self.peak_words = {"rd": 0, "wr": 0}  # most words a channel carried in one cycle
        channels = range(chip.dram_channels)
        self.output_ports = self._outputs()
        self.input_ports = (
            "start",
            "batch",
            *(f"dram{c}_{f}" for c in channels for f in ("rd_data_valid", "rd_data")),
        )
        self.monitored: tuple[str, ...] = ()
        self.may_be_unknown = tuple(f"dram{c}_wr_data" for c in channels)

    def _outputs(self) -> tuple[str, ...]:
        dram = ("rd_valid", "rd_addr", "rd_len", "wr_valid", "wr_addr", "wr_len", "wr_data")
        fields = ("start", "layer", "item", "finish", "depart")
        links = (f"link{s}_{f}" for s in range(self.pipe.stages - 1) for f in ("state", "deliver"))
        return (
            "busy",
            "done",
            *(f"dram{c}_{f}" for c in range(self.chip.dram_channels) for f in dram),
            *(f"tile{t}_{f}" for t in self.pipe.order for f in fields),
            *links,
        )

    def _lane_fields(self, sampled: dict[str, int], s: int) -> dict[str, int]:
        """Stage ``s``'s tile's request fields, cut from its slot of its channel's buses."""
        c, j = self.slot[s]
        p = f"dram{c}_"

        def field(name: str, bits: int) -> int:
            return (sampled[p + name] >> (j * bits)) & ((1 << bits) - 1)

        return {
            "rd_valid": field("rd_valid", 1),
            "rd_addr": field("rd_addr", ADDR_BITS),
            "rd_len": field("rd_len", self.len_bits),
            "wr_valid": field("wr_valid", 1),
            "wr_addr": field("wr_addr", ADDR_BITS),
            "wr_len": field("wr_len", self.len_bits),
            "wr_data": field("wr_data", self.bw * self.cfg.acc_bits),
        }

    def _check_channels(self, sampled: dict[str, int], t: int) -> None:
        """No channel carries more than its words in a cycle, each way (every slot's valid length)."""
        width = self.chip.dram_words_per_cycle
        mask = (1 << self.len_bits) - 1
        for c in range(self.chip.dram_channels):
            for way in ("rd", "wr"):
                valid, lens = sampled[f"dram{c}_{way}_valid"], sampled[f"dram{c}_{way}_len"]
                words = sum(
                    (lens >> (j * self.len_bits)) & mask
                    for j in range(self.chip.tiles_per_channel)
                    if valid >> j & 1
                )
                self.peak_words[way] = max(self.peak_words[way], words)
                if words > width:
                    self.problems.append(
                        f"cycle {t}: channel {c} carried {words} {way} words, more than its {width}"
                    )

    # ------------------------------------------------------------------ inputs
    def idle_inputs(self) -> dict[str, int]:
        return dict.fromkeys(self.input_ports, 0)

    def inputs_for_start(self) -> dict[str, int]:
        return {**self.idle_inputs(), "start": 1, "batch": self.batch}

    def expected(self) -> list[np.ndarray]:
        return [reference_chain(self.cfg, a, self.weights) for a in self.inputs]

    # ------------------------------------------------------------------ one cycle
    def step(self, sampled: dict[str, int]) -> dict[str, int]:
        """Consume the outputs sampled mid-cycle; return the inputs to drive (as ``LayerHarness.step``)."""
        t = self._cycle
        self._cycle += 1
        drive = self.idle_inputs()
        if self.origin is None:
            if not sampled["busy"]:
                return self.inputs_for_start()
            self.origin = t
        now = t - self.origin
        self._check_channels(sampled, t)
        for s, tile in enumerate(self.pipe.order):
            p = f"tile{tile}_"
            lane = self.lanes[s]
            req = self._lane_fields(sampled, s)
            c, j = self.slot[s]
            if sampled[p + "finish"]:
                self._record(2 * s, "finish", now)
                self._finalize(s)
            if sampled[p + "depart"]:
                self._record(2 * s, "depart", now)
                if s < self.pipe.stages - 1:
                    self._record(2 * s + 1, "start", now)
            if sampled[p + "start"]:
                self._begin(s, sampled[p + "layer"], sampled[p + "item"], now)
            if req["rd_valid"]:
                self._read(s, t, req["rd_addr"], req["rd_len"])
            if req["wr_valid"]:
                self._write(s, req["wr_addr"], req["wr_len"], req["wr_data"])
            word = lane.returns.pop(t, None)
            if word is not None:
                drive[f"dram{c}_rd_data_valid"] |= 1 << j
                drive[f"dram{c}_rd_data"] |= word << (j * self.bw * self.rd_bits)
        for s in range(self.pipe.stages - 1):
            state, deliver = sampled[f"link{s}_state"], sampled[f"link{s}_deliver"]
            prev_state, prev_deliver = self._link_prev[s]
            if state == LINK_HOLD and (prev_state != LINK_HOLD or prev_deliver):
                self._record(2 * s + 1, "finish", now)
            if deliver:
                self._record(2 * s + 1, "depart", now)
            self._link_prev[s] = (state, deliver)
        if sampled["done"] and not self.done:
            self.done = True
            self.cycles = now
            self._check_complete()
        return drive

    def _record(self, server: int, what: str, now: int) -> None:
        i = self._seen[what][server]
        if i >= self.batch:
            self.problems.append(f"server {server}: {what} of a batch item beyond {self.batch}")
            return
        self.times[what][server, i] = now
        self._seen[what][server] = i + 1

    # ------------------------------------------------------------------ layers on a tile
    def _begin(self, s: int, layer: int, item: int, now: int) -> None:
        lane = self.lanes[s]
        self._finalize(s)
        first = self.pipe.stage_layers(s)[0]
        if layer == first:
            self._record(2 * s, "start", now)
        m, n, k = self.pipe.layers[layer]
        lane.layer, lane.item = layer, item
        lane.images = {"B": dram_image(self.cfg, self.weights[layer], "B")}
        if layer == first and s == 0:
            lane.images["A"] = dram_image(self.cfg, self.inputs[item], "A")
        elif layer != first:
            prev = self.produced.get((layer - 1, item))
            if prev is None:
                self.problems.append(
                    f"tile of stage {s}: layer {layer} of item {item} before layer {layer - 1}"
                )
                prev = np.zeros((m, k), dtype=np.int64)
            lane.images["A"] = dram_image(
                self.cfg, wrap(prev, self.cfg.input_bits, self.cfg.input_signed), "A"
            )
        lane.c_image = np.zeros(m * n, dtype=np.int64)
        lane.c_written = np.zeros(m * n, dtype=np.int64)

    def _finalize(self, s: int) -> None:
        """The tile's layer is over: keep its C (DRAM-written ones only) for the next layer or the output."""
        lane = self.lanes[s]
        if lane.layer is None:
            return
        layer, item = lane.layer, lane.item
        m, n, _ = self.pipe.layers[layer]
        local = s < self.pipe.stages - 1 and layer == self.pipe.stage_layers(s)[-1]
        if not local:
            bad = int(np.count_nonzero(lane.c_written != 1))
            if bad:
                self.problems.append(f"layer {layer} item {item}: {bad} outputs not written exactly once")
            c = from_dram_image(self.cfg, lane.c_image, "C", (m, n))
            self.produced[(layer, item)] = c
            if layer == len(self.pipe.layers) - 1:
                self.outputs[item] = c
        elif np.any(lane.c_written):
            self.problems.append(f"layer {layer} item {item}: the outgoing buffer's ofmap reached DRAM")
        lane.layer = None

    # ------------------------------------------------------------------ DRAM
    def _read(self, s: int, t: int, addr: int, length: int) -> None:
        lane = self.lanes[s]
        for x in ("A", "B"):
            base, image = self.geo[x].offset, lane.images.get(x)
            if (
                image is not None
                and 1 <= length <= self.bw
                and base <= addr
                and addr + length <= base + image.size
            ):
                lane.returns[t + self.latency] = pack(image[addr - base : addr - base + length], self.rd_bits)
                self.ws[s] += length
                return
        self.problems.append(
            f"stage {s} layer {lane.layer}: DRAM read of {length} words at {addr} outside A and B"
        )
        lane.returns[t + self.latency] = 0

    def _write(self, s: int, addr: int, length: int, data: int) -> None:
        lane = self.lanes[s]
        base = self.geo["C"].offset
        if lane.c_image is None or not (
            1 <= length <= self.bw and base <= addr and addr + length <= base + lane.c_image.size
        ):
            self.problems.append(
                f"stage {s} layer {lane.layer}: DRAM write of {length} words at {addr} outside C"
            )
            return
        i = addr - base
        lane.c_image[i : i + length] = unpack(data, self.cfg.acc_bits, length, acc_signed(self.cfg))
        lane.c_written[i : i + length] += 1
        self.ws[s] += length

    def _check_complete(self) -> None:
        for s in range(self.pipe.stages):
            self._finalize(s)
        missing = [b for b, c in enumerate(self.outputs) if c is None]
        if missing:
            self.problems.append(f"no output for items {missing}")

    # ------------------------------------------------------------------ results
    def mismatches(self) -> int:
        """Outputs that differ from the NumPy chain (a missing item counts all its outputs)."""
        bad = 0
        for got, want in zip(self.outputs, self.expected(), strict=True):
            bad += want.size if got is None else int(np.count_nonzero(got != want))
        return bad

    def interval_differences(self, model: dict[str, np.ndarray]) -> dict[str, int]:
        """Largest |RTL - model| of every recorded time kind, in cycles."""
        return {k: int(np.abs(self.times[k] - np.asarray(model[k])).max()) for k in self.times}
