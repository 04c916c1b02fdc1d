"""``Chip``: accelerators as tiles of an inter-layer pipeline, joined by streaming links.

Stage ``s`` of a :class:`~systolic.chip_config.ChipPipeline` runs on tile ``order[s]``, one
:class:`~systolic.hdl.accel.Accelerator` of the chip's tile config; only the tiles a stage uses are built.
Per tile:

* a **sequencer** starts the stage's layers for batch item ``b`` one after the other (a layer's start is
  taken in its predecessor's ``done`` cycle), as soon as the tile is free and item ``b`` is in its input
  FIFO (stage 0: all ``batch`` items wait in DRAM from the chip's start);
* a **router** on the tile's DRAM port: the first layer's ifmap reads of stages after the first go to the
  tile's input buffer, the last layer's ofmap writes of stages before the last go to its outgoing buffer,
  everything else (weights, stage 0's input, the last stage's output, the intermediates of a stage of
  several layers) to the tile's fixed lane of a shared DRAM channel. The input buffer answers with the
  tile's DRAM latency and lane width, so a tile's cycles per layer are the single-array model's at the
  lane's bandwidth; an ofmap word crosses the link as its low ``input_bits`` (a requantisation by a shift
  of 0);
* the **link** to the next stage's tile: ``link_words_per_cycle`` words per beat through ``hops x
  hop_cycles`` pipeline registers (XY hops on the mesh, the shorter way on the ring).

Timing, the contract :mod:`systolic.model.chip` computes (``mapping.py``'s docstring; the cosim checks
every interval): cycle 0 is the cycle after ``start``. A stage's service of an item starts with its first
layer's ``start`` (cycle ``S``) and finishes in its last layer's ``done`` cycle, ``S + sum(share cycles +
1)``. It hands the item to its link (it departs) in that cycle or, while the link still holds the previous
item, in the cycle the link delivers it (blocked meanwhile); it may start the next item in the cycle it
departs. A link given an item in cycle ``D`` streams it in cycles ``D + 1 .. D + L`` (``L = hops x
hop_cycles + ceil(words / link_words_per_cycle)``: the beats read the outgoing buffer and reach the input
buffer ``hops x hop_cycles`` cycles later) and delivers it from cycle ``D + L`` on, once the next stage
holds at most ``fifo_depth`` items besides the one it is serving (the one it departs in that cycle
counts as gone). The next stage may start an item in the cycle it is delivered. Buffers: 2 outgoing
slots per tile (one computed, one streamed), ``fifo_depth + 2`` incoming (the FIFO, the item in service
and the one the link lands).

Shared DRAM: a **static bandwidth partition** (:mod:`systolic.chip_config`). Each of the chip's
``dram_channels`` channels is a port ``dram<c>_*`` of ``dram_words_per_cycle`` words per cycle for reads
and as many for writes; tile ``t`` owns slot ``t // dram_channels`` of channel ``t mod dram_channels``: a
fixed lane of ``lane_words_per_cycle`` words of the data buses and its own request fields (valid, address,
length) side by side (:class:`DramChannel`, a fixed-slot arbiter: pure wiring, no arbitration state). Every
tile is built as :meth:`~systolic.chip_config.ChipConfig.lane_tile`, an accelerator whose DRAM port is its
lane, so no request ever waits for another tile's (no contention by construction) and a lane a tile leaves
idle is not lent to another (not work-conserving). The DRAM behind a channel answers every slot's read
``dram_latency_cycles`` later in that slot's lane, and takes write beats at once.

Not built: stages of several tiles (a layer split by M or N), and a work-conserving arbiter (a tile
borrowing an idle neighbour's lane).
"""

from __future__ import annotations

import math

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from systolic.chip_config import (
    LINK_HOLD,
    LINK_IDLE,
    LINK_SERVE,
    TILE_BLOCKED,
    TILE_IDLE,
    TILE_RUN,
    ChipConfig,
    ChipPipeline,
)
from systolic.config import ArrayConfig
from systolic.geometry import geometry

from .accel import Accelerator
from .controller import ADDR_BITS
from .dataflow import check_config
from .sequencer import MAX_DIM

ITEM_BITS = 16
#: A tile's DRAM lane signals (the accelerator's DRAM port less its local buffers' traffic).
LANE_FIELDS = (
    "rd_valid",
    "rd_addr",
    "rd_len",
    "rd_data_valid",
    "rd_data",
    "wr_valid",
    "wr_addr",
    "wr_len",
    "wr_data",
)


def link_timing(chip: ChipConfig, pipe: ChipPipeline, s: int) -> tuple[int, int]:
    """Latency cycles (``hops x hop_cycles``) and beats (``ceil(words / link_words_per_cycle)``) of the
    link after stage ``s``."""
    hops = int(chip.hops(pipe.order[s], pipe.order[s + 1]))
    return chip.hop_cycles * hops, math.ceil(pipe.out_words(s) / chip.link_words_per_cycle)


def _width(mem: Memory) -> int:
    """Address bits of ``mem``."""
    return max(1, (mem.depth - 1).bit_length())


def check_chip(chip: ChipConfig, pipe: ChipPipeline) -> None:
    """Refuse what :class:`Chip` cannot build, with a message naming the value."""
    cfg = check_config(chip.lane_tile())
    if cfg.convs_native:
        raise ValueError("a chip's tiles read their ifmap as a matrix: conv_native must be false")
    g = geometry(cfg)
    if (g["A"].lane_dim, g["C"].lane_dim) not in (("k", "n"), ("m", "m")):
        raise ValueError(
            f"dataflow {cfg.dataflow.value}: a layer's ofmap in DRAM layout is not the next layer's ifmap "
            "layout (ws and is only)"
        )
    if cfg.dram_latency_cycles < 1:
        raise ValueError(f"dram_latency_cycles must be at least 1 for a chip, not {cfg.dram_latency_cycles}")
    if max(pipe.order) >= chip.tiles:
        raise ValueError(f"order names tile {max(pipe.order)}, but the chip has {chip.tiles} tiles")
    if any(max(dims) > MAX_DIM for dims in pipe.layers):
        raise ValueError(f"layer dimensions must be at most {MAX_DIM}")


def _lane_signature(cfg: ArrayConfig) -> dict:
    """A tile's DRAM lane as seen from the tile (``Out``: requests and write beats it drives)."""
    lane = cfg.dram_bw_words_per_cycle
    rd_bits = max(cfg.input_bits, cfg.weight_bits)
    return {
        "rd_valid": Out(1),
        "rd_addr": Out(ADDR_BITS),
        "rd_len": Out(range(lane + 1)),
        "rd_data_valid": In(1),
        "rd_data": In(lane * rd_bits),
        "wr_valid": Out(1),
        "wr_addr": Out(ADDR_BITS),
        "wr_len": Out(range(lane + 1)),
        "wr_data": Out(lane * cfg.acc_bits),
    }


class DramChannel(wiring.Component):
    """One shared DRAM channel as a fixed-slot arbiter: ``slots`` lanes side by side (module docstring).

    Slot ``j`` owns words ``j * lane .. (j + 1) * lane - 1`` of the channel's read and write data buses
    and field ``j`` of its request buses, every cycle: pure wiring, so no slot ever waits for another and
    an idle slot's words stay unused.

    Parameters
    ----------
    lane_tile : ArrayConfig
        The tiles' accelerator with its DRAM port cut to the lane (``dram_bw_words_per_cycle`` = lane).
    words_per_cycle : int
        The channel's width; at least ``slots x lane``.
    slots : int

    Ports
    -----
    slot<j>_* : In / Out
        Slot ``j``'s lane from the tile's side (:data:`LANE_FIELDS`; the tile drives requests and write
        beats in, read data comes out).
    rd_valid, rd_addr, rd_len : Out
        Every slot's read request, field ``j`` for slot ``j`` (``1``, ``ADDR_BITS``, length bits each).
    rd_data_valid : In(slots)
    rd_data : In(words_per_cycle x read bits)
        Slot ``j``'s read data in its lane's words.
    wr_valid, wr_addr, wr_len : Out
        Every slot's write beat, as the reads.
    wr_data : Out(words_per_cycle x acc_bits)
    """

    def __init__(self, lane_tile: ArrayConfig, words_per_cycle: int, slots: int):
        lane = lane_tile.dram_bw_words_per_cycle
        if slots < 1 or slots * lane > words_per_cycle:
            raise ValueError(
                f"{slots} slots of {lane} words do not fit a channel of {words_per_cycle} words per cycle"
            )
        self._lane, self._slots, self._words = lane, slots, words_per_cycle
        self._rd_bits = max(lane_tile.input_bits, lane_tile.weight_bits)
        self._acc_bits = lane_tile.acc_bits
        len_bits = lane.bit_length()
        ports = {}
        for j in range(slots):
            ports |= {f"slot{j}_{k}": v.flip() for k, v in _lane_signature(lane_tile).items()}
        ports |= {
            "rd_valid": Out(slots),
            "rd_addr": Out(slots * ADDR_BITS),
            "rd_len": Out(slots * len_bits),
            "rd_data_valid": In(slots),
            "rd_data": In(words_per_cycle * self._rd_bits),
            "wr_valid": Out(slots),
            "wr_addr": Out(slots * ADDR_BITS),
            "wr_len": Out(slots * len_bits),
            "wr_data": Out(words_per_cycle * self._acc_bits),
        }
        super().__init__(ports)

    def elaborate(self, platform) -> Module:
        m = Module()
        slot = [{k: getattr(self, f"slot{j}_{k}") for k in LANE_FIELDS} for j in range(self._slots)]
        spare_wr = (self._words - self._slots * self._lane) * self._acc_bits
        m.d.comb += [
            self.rd_valid.eq(Cat(*(x["rd_valid"] for x in slot))),
            self.rd_addr.eq(Cat(*(x["rd_addr"] for x in slot))),
            self.rd_len.eq(Cat(*(x["rd_len"] for x in slot))),
            self.wr_valid.eq(Cat(*(x["wr_valid"] for x in slot))),
            self.wr_addr.eq(Cat(*(x["wr_addr"] for x in slot))),
            self.wr_len.eq(Cat(*(x["wr_len"] for x in slot))),
            self.wr_data.eq(Cat(*(x["wr_data"] for x in slot), Const(0, max(spare_wr, 0)))),
        ]
        lane_rd = self._lane * self._rd_bits
        for j, x in enumerate(slot):
            m.d.comb += [
                x["rd_data_valid"].eq(self.rd_data_valid[j]),
                x["rd_data"].eq(self.rd_data[j * lane_rd : (j + 1) * lane_rd]),
            ]
        return m


class Chip(wiring.Component):
    """The tiles of ``pipe``'s stages on ``chip`` (module docstring).

    Parameters
    ----------
    chip : ChipConfig
        Tile config, grid, NoC (``link_words_per_cycle``, ``hop_cycles``, ``fifo_depth``).
    pipe : ChipPipeline
        Layers, their tile sizes, stages and placement.

    Ports
    -----
    start : In(1)
        Run ``batch`` items through the pipeline; ignored while ``busy`` or with ``batch`` 0.
    batch : In(16)
    busy : Out(1)
        From the cycle after ``start`` to the last item's departure from the last stage.
    done : Out(1)
        High in the cycle the last stage departs the last item.
    dram<c>_rd_valid, dram<c>_rd_addr, dram<c>_rd_len : Out
        Shared DRAM channel ``c``'s read requests, one field per slot (:class:`DramChannel`): slot ``j``
        is tile ``c + j x dram_channels`` (its accelerator's requests, less those its input buffer
        answers; 0 for a tile not built). The DRAM is always ready and answers ``dram_latency_cycles``
        later.
    dram<c>_rd_data_valid, dram<c>_rd_data : In
        A bit per slot; the slot's lane of ``lane_words_per_cycle`` words.
    dram<c>_wr_valid, dram<c>_wr_addr, dram<c>_wr_len, dram<c>_wr_data : Out
        Its write beats (less those into the tiles' outgoing buffers).
    tile<t>_start, tile<t>_layer, tile<t>_item : Out
        A layer's start, which layer (of the whole chain) and for which batch item.
    tile<t>_finish : Out(1)
        The tile's last layer of an item is done (its ``done`` cycle).
    tile<t>_depart : Out(1)
        The tile hands its finished item on (to its link, or to DRAM for the last stage).
    link<s>_state : Out(2)
        The link after stage ``s``: idle, streaming, holding.
    link<s>_deliver : Out(1)
        It delivers its item into the next stage's FIFO.
    """

    def __init__(self, chip: ChipConfig, pipe: ChipPipeline):
        check_chip(chip, pipe)
        self._chip, self._pipe = chip, pipe
        self._tile = cfg = chip.lane_tile()
        slots = chip.tiles_per_channel
        ports = {"start": In(1), "batch": In(ITEM_BITS), "busy": Out(1), "done": Out(1)}
        self.channels = [
            DramChannel(cfg, chip.dram_words_per_cycle, slots) for _ in range(chip.dram_channels)
        ]
        for c, ch in enumerate(self.channels):
            ports |= {f"dram{c}_{k}": v for k, v in ch.signature.members.items() if not k.startswith("slot")}
        for t in pipe.order:
            p = f"tile{t}_"
            ports |= {
                p + "start": Out(1),
                p + "layer": Out(range(len(pipe.layers))),
                p + "item": Out(ITEM_BITS),
                p + "finish": Out(1),
                p + "depart": Out(1),
            }
        for s in range(pipe.stages - 1):
            ports[f"link{s}_state"] = Out(2)
            ports[f"link{s}_deliver"] = Out(1)
        super().__init__(ports)
        self.tiles = [Accelerator(cfg) for _ in range(pipe.stages)]
        self._lanes = [
            {k: Signal(v.shape, name=f"tile{t}_dram_{k}") for k, v in _lane_signature(cfg).items()}
            for t in pipe.order
        ]

    def _port(self, s: int, name: str):
        if name in LANE_FIELDS:
            return self._lanes[s][name]
        return getattr(self, f"tile{self._pipe.order[s]}_{name}")

    def _dram(self, m: Module) -> None:
        """The shared channels: every built tile's lane into its slot, the channels' buses out."""
        chip = self._chip
        where = {t: s for s, t in enumerate(self._pipe.order)}
        for c, ch in enumerate(self.channels):
            m.submodules[f"dram_{c}"] = ch
            for k in ch.signature.members:
                if k.startswith("slot"):
                    continue
                port = getattr(self, f"dram{c}_{k}")
                if ch.signature.members[k].flow == wiring.In:
                    m.d.comb += getattr(ch, k).eq(port)
                else:
                    m.d.comb += port.eq(getattr(ch, k))
            for j in range(chip.tiles_per_channel):
                s = where.get(c + j * chip.dram_channels)
                if s is None:
                    continue  # no tile, or not built: the slot's inputs stay 0
                for k, v in _lane_signature(self._tile).items():
                    lane, slot = self._lanes[s][k], getattr(ch, f"slot{j}_{k}")
                    m.d.comb += slot.eq(lane) if v.flow == wiring.Out else lane.eq(slot)

    def elaborate(self, platform) -> Module:
        m = Module()
        pipe, n_st = self._pipe, self._pipe.stages
        self._running = Signal(name="running")
        self._items = Signal(ITEM_BITS, name="items")
        # per stage: departs, its next item's arrival (the link before it delivers), its current item
        self._dep = [Signal(name=f"s{s}_depart") for s in range(n_st)]
        self._deliver = [Signal(name=f"l{s}_deliver") for s in range(n_st - 1)]
        self._link_free = [Signal(name=f"l{s}_free") for s in range(n_st - 1)]
        self._room = [Signal(name=f"s{s}_room") for s in range(n_st)]
        self._cur = [Signal(ITEM_BITS, name=f"s{s}_cur") for s in range(n_st)]
        self._layer = [Signal(range(len(pipe.stage_layers(s))), name=f"s{s}_layer") for s in range(n_st)]
        self._in_mem = [None] + [
            self._buffer(m, f"s{s}_inbuf", self._slots_in(), s - 1) for s in range(1, n_st)
        ]
        self._out_mem = [self._buffer(m, f"s{s}_outbuf", 2, s) for s in range(n_st - 1)] + [None]
        for s in range(n_st):
            m.submodules[f"tile_{pipe.order[s]}"] = self.tiles[s]
            self._sequencer(m, s)
            self._router(m, s)
        for s in range(n_st - 1):
            self._link(m, s)
        self._dram(m)
        self._run(m)
        return m

    def _slots_in(self) -> int:
        return self._chip.fifo_depth + 2

    def _pitch(self, s: int) -> int:
        """Words per slot of the items the link after stage ``s`` carries (whole beats)."""
        return link_timing(self._chip, self._pipe, s)[1] * self._chip.link_words_per_cycle

    def _buffer(self, m: Module, name: str, slots: int, s: int) -> Memory:
        mem = Memory(
            shape=unsigned(self._tile.input_bits),
            depth=slots * self._pitch(s) + self._tile.dram_bw_words_per_cycle,
            init=[],
        )
        m.submodules[name] = mem
        return mem

    def _run(self, m: Module) -> None:
        """The chip's start, busy and done."""
        last = self._pipe.stages - 1
        m.d.comb += [
            self.busy.eq(self._running),
            self.done.eq(self._running & self._dep[last] & (self._cur[last] == self._items - 1)),
        ]
        with m.If(self.start & ~self._running & (self.batch != 0)):
            m.d.sync += [self._running.eq(1), self._items.eq(self.batch)]
        with m.Elif(self.done):
            m.d.sync += self._running.eq(0)

    def _sequencer(self, m: Module, s: int) -> None:
        """Start the stage's layers item by item; hold a finished item until it can depart."""
        pipe, acc = self._pipe, self.tiles[s]
        layers = pipe.stage_layers(s)
        n_l, last_stage = len(layers), s == pipe.stages - 1
        state = Signal(2, name=f"s{s}_state")
        started = Signal(ITEM_BITS, name=f"s{s}_started")
        layer, cur, dep = self._layer[s], self._cur[s], self._dep[s]
        layer_done = Signal(name=f"s{s}_layer_done")
        finished = Signal(name=f"s{s}_finished")
        start_item = Signal(name=f"s{s}_start_item")
        at_last = layer == n_l - 1
        m.d.comb += [
            layer_done.eq((state == TILE_RUN) & acc.done),
            finished.eq((layer_done & at_last) | (state == TILE_BLOCKED)),
            dep.eq(finished & (1 if last_stage else self._link_free[s])),
        ]
        free = (state == TILE_IDLE) | dep
        if s == 0:
            avail = started < self._items
        else:
            waiting = Signal(range(self._slots_in() + 1), name=f"s{s}_waiting")
            held = Signal(range(self._slots_in() + 1), name=f"s{s}_held")
            arrive = self._deliver[s - 1]
            avail = (waiting != 0) | arrive
            m.d.sync += [
                waiting.eq(waiting + arrive - start_item),
                held.eq(held + arrive - dep),
            ]
            m.d.comb += self._room[s].eq((held < self._chip.fifo_depth + 1) | dep)
        m.d.comb += start_item.eq(self._running & free & avail)
        with m.If(self.start & ~self._running):
            m.d.sync += started.eq(0)
        nxt = Mux(start_item, 0, layer + 1)  # the layer a start begins
        rom = {f: Array(Const(v, 16) for v in vals) for f, vals in self._rom(layers).items()}
        m.d.comb += [
            acc.start.eq(start_item | (layer_done & ~at_last)),
            *(getattr(acc, f).eq(rom[f][nxt]) for f in rom),
            self._port(s, "start").eq(acc.start),
            self._port(s, "layer").eq(Array(Const(x) for x in layers)[nxt]),
            self._port(s, "item").eq(Mux(start_item, started, cur)),
            self._port(s, "finish").eq(layer_done & at_last),
            self._port(s, "depart").eq(dep),
        ]
        with m.If(start_item):
            m.d.sync += [state.eq(TILE_RUN), layer.eq(0), cur.eq(started), started.eq(started + 1)]
        with m.Elif(layer_done & ~at_last):
            m.d.sync += layer.eq(layer + 1)
        with m.Elif(dep):
            m.d.sync += state.eq(TILE_IDLE)
        with m.Elif(layer_done & at_last):
            m.d.sync += state.eq(TILE_BLOCKED)

    def _rom(self, layers: list[int]) -> dict[str, list[int]]:
        pipe = self._pipe
        dims = [pipe.layers[x] for x in layers]
        tiles = [pipe.tile_sizes[x] for x in layers]
        return {
            "dim_m": [d[0] for d in dims],
            "dim_n": [d[1] for d in dims],
            "dim_k": [d[2] for d in dims],
            "tile_m": [t[0] for t in tiles],
            "tile_n": [t[1] for t in tiles],
            "tile_k": [t[2] for t in tiles],
        }

    def _router(self, m: Module, s: int) -> None:
        """The tile's DRAM port: its input buffer, its outgoing buffer, or the chip's DRAM lane."""
        cfg, pipe, acc = self._tile, self._pipe, self.tiles[s]
        lat = cfg.dram_latency_cycles
        g = geometry(cfg)
        n_l = len(pipe.stage_layers(s))
        m.d.comb += [acc.dram_rd_req_ready.eq(1), acc.dram_wr_ready.eq(1)]
        # reads
        local_rd = Signal(name=f"s{s}_local_rd")
        if s > 0:
            rel = Signal(ADDR_BITS + 1, name=f"s{s}_rd_rel")
            m.d.comb += [
                rel.eq(acc.dram_rd_req_addr - g["A"].offset),
                local_rd.eq(
                    acc.dram_rd_req_valid
                    & (self._layer[s] == 0)
                    & (acc.dram_rd_req_addr >= g["A"].offset)
                    & (rel < pipe.in_words(s))
                ),
            ]
            data = self._local_read(m, s, rel)
        m.d.comb += [
            self._port(s, "rd_valid").eq(acc.dram_rd_req_valid & ~local_rd),
            self._port(s, "rd_addr").eq(acc.dram_rd_req_addr),
            self._port(s, "rd_len").eq(acc.dram_rd_req_len),
        ]
        if s > 0:
            valid = local_rd
            for i in range(lat):  # sync read (1 cycle), then the rest of the DRAM's latency
                q = Signal(name=f"s{s}_local_rd_q{i}")
                m.d.sync += q.eq(valid)
                valid = q
            for i in range(lat - 1):
                q = Signal.like(data, name=f"s{s}_local_data_q{i}")
                m.d.sync += q.eq(data)
                data = q
            m.d.comb += [
                acc.dram_rd_data_valid.eq(self._port(s, "rd_data_valid") | valid),
                acc.dram_rd_data.eq(Mux(valid, data, self._port(s, "rd_data"))),
            ]
        else:
            m.d.comb += [
                acc.dram_rd_data_valid.eq(self._port(s, "rd_data_valid")),
                acc.dram_rd_data.eq(self._port(s, "rd_data")),
            ]
        # writes
        local_wr = Signal(name=f"s{s}_local_wr")
        if s < pipe.stages - 1:
            rel = Signal(ADDR_BITS + 1, name=f"s{s}_wr_rel")
            m.d.comb += [
                rel.eq(acc.dram_wr_addr - g["C"].offset),
                local_wr.eq(
                    acc.dram_wr_valid
                    & (self._layer[s] == n_l - 1)
                    & (acc.dram_wr_addr >= g["C"].offset)
                    & (rel < pipe.out_words(s))
                ),
            ]
            self._local_write(m, s, rel, local_wr)
        m.d.comb += [
            self._port(s, "wr_valid").eq(acc.dram_wr_valid & ~local_wr),
            self._port(s, "wr_addr").eq(acc.dram_wr_addr),
            self._port(s, "wr_len").eq(acc.dram_wr_len),
            self._port(s, "wr_data").eq(acc.dram_wr_data),
        ]

    def _local_read(self, m: Module, s: int, rel: Signal):
        """``bw`` words of the current item's input slot from word ``rel`` on, packed as the DRAM packs
        them (each widened to the read width, sign-extended when the inputs are signed)."""
        cfg = self._tile
        bw = cfg.dram_bw_words_per_cycle
        rd_bits = max(cfg.input_bits, cfg.weight_bits)
        slot = Signal(range(self._slots_in()), name=f"s{s}_rd_slot")
        m.d.comb += slot.eq(self._cur[s] % self._slots_in())
        base = slot * self._pitch(s - 1) + rel[: _width(self._in_mem[s])]
        words = []
        for i in range(bw):
            port = self._in_mem[s].read_port()
            m.d.comb += port.addr.eq(base + i)
            w = port.data.as_signed() if cfg.input_signed else port.data
            wide = Signal(rd_bits, name=f"s{s}_local_word{i}")
            m.d.comb += wide.eq(w)
            words.append(wide)
        packed = Signal(bw * rd_bits, name=f"s{s}_local_data")
        m.d.comb += packed.eq(Cat(*words))
        return packed

    def _local_write(self, m: Module, s: int, rel: Signal, en: Signal) -> None:
        """An ofmap beat into the current item's outgoing slot, each word cut to ``input_bits``."""
        cfg, acc = self._tile, self.tiles[s]
        base = self._cur[s][0] * self._pitch(s) + rel[: _width(self._out_mem[s])]
        for i in range(cfg.dram_bw_words_per_cycle):
            port = self._out_mem[s].write_port()
            m.d.comb += [
                port.addr.eq(base + i),
                port.data.eq(acc.dram_wr_data[i * cfg.acc_bits : i * cfg.acc_bits + cfg.input_bits]),
                port.en.eq(en & (acc.dram_wr_len > i)),
            ]

    def _link(self, m: Module, s: int) -> None:
        """Stage ``s``'s item to stage ``s + 1``: the hand-over, ``L`` cycles of streaming, the delivery."""
        hop, beats = link_timing(self._chip, self._pipe, s)
        total = hop + beats
        lw = self._chip.link_words_per_cycle
        state = Signal(2, name=f"l{s}_state")
        count = Signal(range(total + 1), name=f"l{s}_count")
        dep, deliver = self._dep[s], self._deliver[s]
        m.d.comb += [
            deliver.eq((state == LINK_HOLD) & self._room[s + 1]),
            self._link_free[s].eq((state == LINK_IDLE) | deliver),
            getattr(self, f"link{s}_state").eq(state),
            getattr(self, f"link{s}_deliver").eq(deliver),
        ]
        with m.If(dep):
            m.d.sync += [state.eq(LINK_HOLD if total == 1 else LINK_SERVE), count.eq(total - 1)]
        with m.Elif(state == LINK_SERVE):
            m.d.sync += count.eq(count - 1)
            with m.If(count == 1):
                m.d.sync += state.eq(LINK_HOLD)
        with m.Elif(deliver):
            m.d.sync += state.eq(LINK_IDLE)
        # the beats: one per cycle from the cycle after the hand-over, through hop x hop_cycles registers
        sending = Signal(name=f"l{s}_sending")
        beat = Signal(range(beats + 1), name=f"l{s}_beat")
        src = Signal(name=f"l{s}_src_slot")
        dst = Signal(range(self._slots_in()), name=f"l{s}_dst_slot")
        with m.If(dep):
            cur = self._cur[s]
            m.d.sync += [sending.eq(1), beat.eq(0), src.eq(cur[0]), dst.eq(cur % self._slots_in())]
        with m.Elif(sending):
            m.d.sync += beat.eq(beat + 1)
            with m.If(beat == beats - 1):
                m.d.sync += sending.eq(0)
        pitch = self._pitch(s)
        valid, addr, words = sending, Signal(32, name=f"l{s}_dst_addr"), []
        m.d.comb += addr.eq(dst * pitch + beat * lw)
        for i in range(lw):
            port = self._out_mem[s].read_port(domain="comb")
            m.d.comb += port.addr.eq(src * pitch + beat * lw + i)
            words.append(port.data)
        offset = beat * lw
        for h in range(hop):
            v = Signal(name=f"l{s}_hop{h}_valid")
            a = Signal(32, name=f"l{s}_hop{h}_addr")
            o = Signal(32, name=f"l{s}_hop{h}_offset")
            ws = [Signal.like(w, name=f"l{s}_hop{h}_word{i}") for i, w in enumerate(words)]
            m.d.sync += [
                v.eq(valid),
                a.eq(addr),
                o.eq(offset),
                *(x.eq(w) for x, w in zip(ws, words, strict=True)),
            ]
            valid, addr, offset, words = v, a, o, ws
        n_words = self._pipe.out_words(s)
        for i in range(lw):
            port = self._in_mem[s + 1].write_port()
            m.d.comb += [
                port.addr.eq(addr + i),
                port.data.eq(words[i]),
                port.en.eq(valid & (offset + i < n_words)),
            ]
