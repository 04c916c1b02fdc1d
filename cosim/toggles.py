"""Toggle activity from a VCD, streaming: bit toggles per signal, per component class and per time window.

Two readers give identical counts:

* ``"vcdvcd"`` -- the reference: vcdvcd's streaming callback API (``VCDVCD(path, callbacks=...,
  store_tvs=False)``), one Python call per value change. Simple and obviously right; about 10 MB/s.
* ``"fast"`` (default) -- reads the body in large chunks and parses the value changes of a whole chunk
  with NumPy: lines, identifier codes and values are located with vectorised byte operations, values are
  packed to bits (``np.packbits``) and compared with the previous value of the same signal by XOR and
  ``np.bitwise_count``. The header (scopes, variables, aliases, timescale) is still parsed by vcdvcd, so
  both readers see the same signals under the same names. Neither holds more than one chunk in memory.

Counting rules (both readers):

* A toggle is one bit that differs between two consecutive values of the same signal (Hamming distance),
  counting every value change the file records, also several at one timestamp.
* x and z: a bit that is x or z (any character other than 0 and 1) before or after a change is not
  counted. Signals start unknown, so the first value of every signal (usually in ``$dumpvars``) counts
  nothing; a glitch through x (0 -> x -> 1) counts nothing either.
* Short vector values are left-extended as the VCD standard says: with 0 when the leftmost character is 0
  or 1, with x or z when it is x or z.
* Aliases: simulators give one net several names (a port in the parent and in the child). Each VCD
  identifier code is counted once. Its class and its name come from the first rule of :data:`CLASS_RULES`
  (in table order) that matches any of its names, the names tried in declaration order; a code no rule
  matches is class ``other`` under its first declared name. Icarus merges more aliases into one code
  than Verilator does; on the RTL here both give the same counts for every named class and differ only
  in ``other`` (tested).
* Names are matched without Icarus's ``\\`` escapes and without the bit range: ``top.pe_0_1.a_in``.
* :data:`CLASS_RULES` attributes every named signal; :func:`energy_rules` counts each register once for
  the energy calibration (``cosim/calibrate.py``).
* Real variables count nothing. Lines starting with ``$`` in the body (``$dumpvars``, ``$end``, ...) are
  skipped; the fast reader takes a comment to be one line and does not accept values on a ``#time`` line
  (no simulator here writes either).
"""

from __future__ import annotations

import math
import os
import re
import time as _time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from systolic.errors import InputError
from systolic.model.energy import COMPONENT_CLASSES

#: Toggle classes: the energy model's component classes plus ``other`` for everything unattributed
#: (clock, reset, testbench ports, generated intermediate nets).
CLASSES: tuple[str, ...] = (*COMPONENT_CLASSES, "other")

_PE = r"(?:^|\.)pe_\d+_\d+\."
# a named signal, not clock or reset, not a generated $-net; a name Amaranth made unique with a ``$N``
# suffix is a named signal too (an SRAM's second half's ports: ``rd__data$29`` beside ``rd__data``)
_NAMED = r"(?!(?:clk|rst)$)[A-Za-z]\w*(?:\$\d+)?$"
#: (regular expression on the full hierarchical name, class), tried in order. Rules match named signals
#: only: the ``$1``-style nets Yosys generates are intermediate or next-state copies of named signals
#: (an adder's output, a register's input), and counting them would count the same activity twice.
#: Verilator's ``$rootio`` scope repeats the top-level ports. Extend the table to attribute more.
CLASS_RULES: tuple[tuple[str, str], ...] = (
    (r"^(?!\$rootio\.)[^.]+\.dram_\w+$", "dram"),  # top-level DRAM ports
    (_PE + r"(?:mul_a|mul_b|hold_a|hold_b|nonzero)$", "mult"),  # multiplier operands and zero gating
    (_PE + r"(?:product|acc|res)$", "acc"),  # res: the result register of fold_overlap's OS PE
    (_PE + r"(?:a_in|b_in|w\d?|a_out|b_out|a_tag_out|psum_\w+)$", "fwd"),  # w0, w1: fold_overlap's banks
    (r"(?:^|\.)(?:de)?skew_\w+\.lane\w*$", "fwd"),  # LaneDelay registers of the operand/result skew
    (r"(?:^|\.)ifmap_sram\.(?:[^.]+\.)*" + _NAMED, "ifmap_sram"),
    (r"(?:^|\.)filter_sram\.(?:[^.]+\.)*" + _NAMED, "filter_sram"),
    (r"(?:^|\.)ofmap_sram\.(?:[^.]+\.)*" + _NAMED, "ofmap_sram"),
    (r"(?:^|\.)(?:sequencer|ctrl)\.(?:[^.]+\.)*" + _NAMED, "ctrl"),
)


def energy_rules(dataflow: str) -> tuple[tuple[str, str], ...]:
    """Classification rules that count each physical register or net of the energy model once.

    :data:`CLASS_RULES` attributes every named signal; for energy that counts some nets twice or more: a
    PE's ``a_in`` is its left neighbour's ``a_out`` register (Icarus and Verilator give the two ports
    separate codes), in OS ``psum_out`` is the ``acc`` register, in WS and IS ``b_out`` is the weight
    register ``w`` and ``psum_out`` is the accumulator (the one register that both accumulates and
    forwards partial sums, so it is charged once, to ``acc``), and the controller passes DRAM and SRAM
    data through (``*_data``, ``wr_shifted``: the same words the DRAM ports and the SRAMs carry). These
    rules keep one name per register (``a_out``, ``b_out`` or ``w``, ``acc`` or ``psum_out``) and leave
    the copies to ``other``. ``dataflow`` is ``os``, ``ws`` or ``is``.
    """
    stationary = str(dataflow) != "os"
    pe_acc = "product|psum_out" if stationary else "product|acc|res"
    pe_fwd = r"a_out|a_tag_out|w\d?" if stationary else "a_out|a_tag_out|b_out"
    return (
        CLASS_RULES[0],  # DRAM ports
        CLASS_RULES[1],  # multiplier operands and zero gating
        (_PE + rf"(?:{pe_acc})$", "acc"),
        (_PE + rf"(?:{pe_fwd})$", "fwd"),
        *CLASS_RULES[4:8],  # skew lanes, SRAMs
        (r"(?:^|\.)(?:sequencer|ctrl)\.(?:[^.]+\.)*(?!\w*_data$|wr_shifted$)" + _NAMED, "ctrl"),
    )


_RANGE_SUFFIX = re.compile(r"(?:\[[^\]]*\])+$")
_ESCAPE = re.compile(r"(^|\.)\\")
_MAX_CODE_BYTES = 8  # identifier codes are packed into one uint64 key


def canonical_name(reference: str) -> str:
    """A VCD reference as the rules see it: no ``\\`` escapes, no trailing bit range."""
    return _RANGE_SUFFIX.sub("", _ESCAPE.sub(r"\1", reference))


def classify(
    references: Sequence[str], rules: Sequence[tuple[str | re.Pattern, str]] = CLASS_RULES
) -> tuple[int, str]:
    """Class index (into :data:`CLASSES`) and chosen name of one identifier code with these names."""
    names = [canonical_name(r) for r in references]
    for pattern, cls in rules:
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
        for ref, name in zip(references, names, strict=True):
            if regex.search(name):
                return CLASSES.index(cls), ref
    return CLASSES.index("other"), references[0]


# --------------------------------------------------------------------------- header


@dataclass(frozen=True)
class VcdHeader:
    """The signals of a VCD (from vcdvcd's header parse) and where its body starts.

    Attributes
    ----------
    codes : tuple of str
        Identifier code per tracked signal, in order of first declaration.
    references : tuple of tuple of str
        Every hierarchical name of each code, in declaration order.
    names : tuple of str
        The name each code is reported under (see the alias rule in the module docstring).
    widths : np.ndarray of int, shape [signal]
    classes : np.ndarray of int, shape [signal]
        Index into :data:`CLASSES`.
    ignored_codes : tuple of str
        Codes of real variables, whose changes count nothing.
    timescale_s : float
        Seconds per VCD time unit.
    body_offset : int
        Byte offset of the first line after ``$enddefinitions ... $end``.
    body_line : int
        Lines before the body (so the body's first line is ``body_line + 1``).
    """

    codes: tuple[str, ...]
    references: tuple[tuple[str, ...], ...]
    names: tuple[str, ...]
    widths: np.ndarray
    classes: np.ndarray
    ignored_codes: tuple[str, ...]
    timescale_s: float
    body_offset: int
    body_line: int


def _find_body(path: Path) -> tuple[int, int]:
    """Byte offset and line count of the end of the header, found without reading the body."""
    marker, block = b"$enddefinitions", 1 << 20
    with open(path, "rb") as f:
        data = b""
        while True:
            more = f.read(block)
            data += more
            at = data.find(marker)
            if at >= 0:
                end = data.find(b"$end", at + len(marker))
                while end < 0 or data.find(b"\n", end) < 0:
                    more = f.read(block)
                    if not more:
                        break
                    data += more
                    end = data.find(b"$end", at + len(marker))
                if end < 0:
                    raise InputError("$enddefinitions has no $end (truncated header?)", path)
                nl = data.find(b"\n", end)
                offset = len(data) if nl < 0 else nl + 1
                return offset, data.count(b"\n", 0, offset)
            if not more:
                raise InputError("no $enddefinitions: not a VCD, or its header is truncated", path)


def read_header(path: str | os.PathLike, rules: Sequence[tuple[str, str]] = CLASS_RULES) -> VcdHeader:
    """Parse the header of ``path`` with vcdvcd and classify its signals."""
    from vcdvcd import VCDVCD

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path)
    body_offset, body_line = _find_body(path)
    try:
        vcd = VCDVCD(str(path), only_sigs=True)
    except (ValueError, IndexError, KeyError, UnicodeDecodeError) as err:
        raise InputError(f"malformed VCD header ({type(err).__name__}: {err})", path) from None
    codes, refs, widths, ignored = [], [], [], []
    for code, sig in vcd.data.items():
        if sig.var_type in ("real", "realtime"):
            ignored.append(code)
            continue
        try:
            width = int(sig.size)
        except ValueError:
            raise InputError(f"variable {sig.references[0]} has width {sig.size!r}", path) from None
        codes.append(code)
        refs.append(tuple(sig.references))
        widths.append(width)
        if len(code.encode("latin-1", "replace")) > _MAX_CODE_BYTES:
            raise InputError(f"identifier code {code!r} is longer than {_MAX_CODE_BYTES} characters", path)
    for _, cls in rules:
        if cls not in CLASSES:
            raise InputError(f"classification rule names unknown class {cls!r} (known: {', '.join(CLASSES)})")
    compiled = [(re.compile(pattern), cls) for pattern, cls in rules]
    picked = [classify(r, compiled) for r in refs]
    ts = vcd.timescale.get("timescale")
    return VcdHeader(
        codes=tuple(codes),
        references=tuple(refs),
        names=tuple(name for _, name in picked),
        widths=np.array(widths, dtype=np.int64),
        classes=np.array([cls for cls, _ in picked], dtype=np.int64),
        ignored_codes=tuple(ignored),
        timescale_s=float(ts) if ts is not None else 1.0,
        body_offset=body_offset,
        body_line=body_line,
    )


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class ToggleCounts:
    """Bit toggles of one VCD.

    Attributes
    ----------
    path : str
    reader : str
        ``fast`` or ``vcdvcd``.
    classes : tuple of str
        :data:`CLASSES`; the class axis of the arrays below.
    signal_names, signal_codes : tuple of str
        Per signal (one per identifier code).
    signal_classes : np.ndarray of int, shape [signal]
        Index into ``classes``.
    signal_widths : np.ndarray of int, shape [signal]
    per_signal : np.ndarray of int64, shape [signal]
    per_class : np.ndarray of int64, shape [class]
    window_units : int
        Window length in VCD time units; 0 when no window was asked for (one window, all time).
    per_window : np.ndarray of int64, shape [window, class]
        Window w covers VCD times ``[w * window_units, (w + 1) * window_units)``.
    timescale_s : float
        Seconds per VCD time unit.
    end_time : int
        The last timestamp in the file.
    bytes_read : int
        Size of the file.
    seconds : float
        Wall time of the extraction.
    """

    path: str
    reader: str
    classes: tuple[str, ...]
    signal_names: tuple[str, ...]
    signal_codes: tuple[str, ...]
    signal_classes: np.ndarray
    signal_widths: np.ndarray
    per_signal: np.ndarray
    per_class: np.ndarray
    window_units: int
    per_window: np.ndarray
    timescale_s: float
    end_time: int
    bytes_read: int
    seconds: float

    @property
    def bits_per_class(self) -> np.ndarray:
        """Signal bits per class ``[class]``: toggles / (bits x cycles) is the class's activity factor."""
        return np.bincount(
            self.signal_classes, weights=self.signal_widths, minlength=len(self.classes)
        ).astype(np.int64)

    @property
    def mb_per_s(self) -> float:
        """Extraction throughput in MB (10**6 bytes) of VCD per second."""
        return self.bytes_read / 1e6 / self.seconds if self.seconds > 0 else math.inf

    def by_name(self) -> dict[str, int]:
        """``{signal name: toggles}``."""
        return dict(zip(self.signal_names, self.per_signal.tolist(), strict=True))


def _window_units(
    header: VcdHeader, window_units: int | None, window_cycles: float | None, clock_period_s: float | None
) -> int:
    if window_units is not None and window_cycles is not None:
        raise InputError("give window_units or window_cycles, not both")
    if window_cycles is not None:
        if clock_period_s is None or not clock_period_s > 0:
            raise InputError("window_cycles needs the clock period (clock_period_s > 0)")
        window_units = round(window_cycles * clock_period_s / header.timescale_s)
        if window_units < 1:
            raise InputError(f"a window of {window_cycles} cycles is shorter than one VCD time unit")
    if window_units is None:
        return 0
    if isinstance(window_units, bool) or not isinstance(window_units, int) or window_units < 1:
        raise InputError(f"window_units must be a positive integer, not {window_units!r}")
    return window_units


def count_toggles(
    path: str | os.PathLike,
    *,
    reader: str = "fast",
    window_units: int | None = None,
    window_cycles: float | None = None,
    clock_period_s: float | None = None,
    rules: Sequence[tuple[str, str]] = CLASS_RULES,
    chunk_bytes: int = 4 << 20,
) -> ToggleCounts:
    """Count bit toggles in a VCD, per signal, per class and per time window.

    Parameters
    ----------
    path : path
        The VCD (Icarus ``waves.vcd`` or Verilator ``dump.vcd``).
    reader : {"fast", "vcdvcd"}
        The chunked NumPy reader or the vcdvcd reference; they give identical counts.
    window_units : int, optional
        Window length in VCD time units.
    window_cycles, clock_period_s : float, optional
        Or: window length in clock cycles, with the clock period in seconds.
    rules : sequence of (regex, class)
        Classification table, first match wins (:data:`CLASS_RULES`).
    chunk_bytes : int
        Bytes the fast reader parses at once (its memory is a small multiple of this).

    Raises
    ------
    InputError
        A missing, corrupt or truncated VCD: one line naming the file and, where known, the line.
    """
    start = _time.perf_counter()
    path = Path(path)
    header = read_header(path, rules)
    units = _window_units(header, window_units, window_cycles, clock_period_s)
    if reader == "fast":
        per_signal, per_window, end_time = _FastReader(path, header, units, chunk_bytes).run()
    elif reader == "vcdvcd":
        per_signal, per_window, end_time = _vcdvcd_counts(path, header, units)
    else:
        raise InputError(f"reader must be 'fast' or 'vcdvcd', not {reader!r}")
    # One row per window up to the last timestamp, whether or not anything toggled in it.
    n_windows = end_time // units + 1 if units else 1
    per_window = np.pad(per_window[:n_windows], ((0, max(n_windows - per_window.shape[0], 0)), (0, 0)))
    return ToggleCounts(
        path=str(path),
        reader=reader,
        classes=CLASSES,
        signal_names=header.names,
        signal_codes=header.codes,
        signal_classes=header.classes,
        signal_widths=header.widths,
        per_signal=per_signal,
        per_class=per_window.sum(axis=0),
        window_units=units,
        per_window=per_window,
        timescale_s=header.timescale_s,
        end_time=end_time,
        bytes_read=path.stat().st_size,
        seconds=_time.perf_counter() - start,
    )


# --------------------------------------------------------------------------- reference: vcdvcd callbacks


def _hamming(old: str, new: str, width: int) -> int:
    """Toggled bits between two VCD values of a ``width``-bit signal (x/z bits count nothing)."""
    if old == new:
        return 0
    try:
        return (int(old, 2) ^ int(new, 2)).bit_count()
    except ValueError:  # x or z somewhere (or the initial unknown value)
        pass
    o, n = _extend(old, width), _extend(new, width)
    return sum(1 for a, b in zip(o, n, strict=True) if a != b and a in "01" and b in "01")


def _extend(value: str, width: int) -> str:
    pad = "0" if value[0] in "01" else value[0]
    return pad * (width - len(value)) + value


def _vcdvcd_counts(path: Path, header: VcdHeader, units: int) -> tuple[np.ndarray, np.ndarray, int]:
    from vcdvcd import VCDVCD, StreamParserCallbacks

    index = {code: i for i, code in enumerate(header.codes)}
    widths = header.widths.tolist()
    classes = header.classes.tolist()
    per_signal = [0] * len(index)
    windows: defaultdict[tuple[int, int], int] = defaultdict(int)

    class Counter(StreamParserCallbacks):
        def value(self, vcd, time, value, identifier_code, cur_sig_vals):
            i = index.get(identifier_code)
            if i is None:
                return
            if len(value) > widths[i] or not value:
                raise _BadValue(f"value {value!r} does not fit the {widths[i]}-bit signal {header.names[i]}")
            n = _hamming(cur_sig_vals[identifier_code], value, widths[i])
            if n:
                per_signal[i] += n
                windows[(time // units if units else 0, classes[i])] += n

    try:
        vcd = VCDVCD(str(path), callbacks=Counter(), store_tvs=False)
    except (_BadValue, ValueError, IndexError, KeyError, UnicodeDecodeError) as err:
        # vcdvcd does not know line numbers: let the fast reader find the bad line for the message.
        _FastReader(path, header, units, 8 << 20).run()
        raise InputError(f"malformed VCD ({err})", path) from None
    n_windows = max((w for w, _ in windows), default=-1) + 1
    per_window = np.zeros((n_windows, len(CLASSES)), dtype=np.int64)
    for (w, c), n in windows.items():
        per_window[w, c] = n
    return np.array(per_signal, dtype=np.int64), per_window, int(vcd.endtime)


class _BadValue(ValueError):
    pass


# --------------------------------------------------------------------------- fast: chunks and NumPy

# What the first character of a body line makes it.
_SKIP, _TIME, _SCALAR, _VECTOR, _REAL, _BAD = range(6)
_KIND = np.full(256, _BAD, dtype=np.uint8)
_KIND[0] = _SKIP  # empty line (see _FastReader._chunk)
_KIND[ord("$")] = _SKIP
_KIND[ord("#")] = _TIME
for _c in "01xXzZ":
    _KIND[ord(_c)] = _SCALAR
for _c in "bB":
    _KIND[ord(_c)] = _VECTOR
for _c in "rR":
    _KIND[ord(_c)] = _REAL


#: Mask of the low 8 * n bits, indexed by n.
_CODE_MASK = np.array([(1 << (8 * n)) - 1 for n in range(_MAX_CODE_BYTES + 1)], dtype=np.uint64)


def _code_key(code: bytes) -> int:
    return int.from_bytes(code, "little")


class _FastReader:
    """Chunked, vectorised toggle counting.

    Signals are renumbered by width internally, so sorting the changes of a chunk by signal also groups
    them by width, and each width group is one 2-D NumPy problem: values as rows of bits, each row compared
    with the row before it (the same signal's previous value) or, for a signal's first change in the chunk,
    with the state carried over from the previous chunk. The file is read into one reused buffer.
    """

    def __init__(self, path: Path, header: VcdHeader, units: int, chunk_bytes: int):
        self.path, self.header, self.units = path, header, units
        self.chunk_bytes = max(int(chunk_bytes), 1 << 16)
        n = len(header.codes)
        self.perm = np.argsort(header.widths, kind="stable")  # internal index -> header index
        self.width = header.widths[self.perm]  # [isig]
        self.cls = header.classes[self.perm]  # [isig]
        inv = np.empty(n, dtype=np.int64)
        inv[self.perm] = np.arange(n)
        codes = [c.encode("latin-1") for c in (*header.codes, *header.ignored_codes)]
        keys = np.array([_code_key(c) for c in codes], dtype=np.uint64)
        sig = np.concatenate([inv, np.full(len(header.ignored_codes), -1, dtype=np.int64)])
        order = np.argsort(keys, kind="stable")
        self.keys, self.key_sig = keys[order], sig[order]
        # Codes of up to 3 characters (every VCD here: 94**3 codes) fit a direct lookup table, which is
        # cheaper than a binary search per value change.
        self.lookup = None
        if codes and max(map(len, codes)) <= 3:
            self.lookup = np.full(int(keys.max()) + 1, -2, dtype=np.int32)  # -2: unknown code
            self.lookup[keys] = sig
        self.max_width = int(self.width.max()) if n else 1
        # per width: each signal's slot in its width group, the packed state (ones, known) per slot, and
        # the packed mask of the bits a value of each length covers (index: left-extension length).
        self.slot = np.zeros(n, dtype=np.int64)
        self.state: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.covered: dict[int, np.ndarray] = {}
        for w in np.unique(self.width).tolist():
            members = np.flatnonzero(self.width == w)
            self.slot[members] = np.arange(len(members))
            nbytes = (w + 7) // 8
            self.state[w] = (
                np.zeros((len(members), nbytes), dtype=np.uint8),
                np.zeros((len(members), nbytes), dtype=np.uint8),  # known bits: none at the start
            )
            self.covered[w] = np.packbits(np.arange(w)[None, :] >= np.arange(w + 1)[:, None], axis=1)
        self.per_signal = np.zeros(n, dtype=np.int64)
        self.per_window = np.zeros((0, len(CLASSES)), dtype=np.int64)
        self.time = 0

    def run(self) -> tuple[np.ndarray, np.ndarray, int]:
        # Buffer layout: `pre` bytes that stay zero (a value's row of w characters may start before the
        # data), the data, and at least 8 spare bytes (8-byte loads at identifier codes near the end).
        pre = self.max_width
        buf = bytearray(pre + self.chunk_bytes + 8)
        line, have = self.header.body_line, 0  # `have`: bytes of an unfinished line kept at buf[pre:]
        with open(self.path, "rb") as f:
            f.seek(self.header.body_offset)
            while True:
                if pre + have + 9 > len(buf) // 2:  # a very long line: make room
                    buf = buf + bytearray(len(buf))
                with memoryview(buf) as mv:
                    got = f.readinto(mv[pre + have : len(buf) - 8])
                if not got:
                    if have:  # a last line without newline: a truncated file, or just no final newline
                        buf[pre + have] = 10
                        line += self._chunk(buf, pre, have + 1, line)
                    break
                have += got
                cut = buf.rfind(b"\n", pre, pre + have) + 1 - pre
                if cut <= 0:
                    continue
                line += self._chunk(buf, pre, cut, line)
                buf[pre : pre + have - cut] = buf[pre + cut : pre + have]
                have -= cut
        per_signal = np.empty_like(self.per_signal)
        per_signal[self.perm] = self.per_signal
        n_windows = self.time // self.units + 1 if self.units else 1
        return per_signal, self.per_window[:n_windows], int(self.time)

    def _fail(self, what: str, line_numbers: np.ndarray, first_line: int) -> None:
        raise InputError(what, self.path, f"line {first_line + int(line_numbers[0]) + 1}")

    def _chunk(self, buf: bytearray, pre: int, size: int, line_base: int) -> int:
        """Count the toggles of the complete lines in ``buf[pre:pre + size]``; return how many there are."""
        full = np.frombuffer(buf, dtype=np.uint8)
        b = full[pre : pre + size]
        # int32 positions (a chunk is far below 2 GiB): half the memory traffic of NumPy's int64 indices
        ends = np.flatnonzero(b == 10).astype(np.int32)  # [line]
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        ends -= (ends > starts) & (b[ends - 1] == 13)  # tolerate CRLF
        lens = ends - starts
        kind = _KIND[np.where(lens > 0, b[starts], 0)]
        bad = np.flatnonzero(kind == _BAD)
        if bad.size:
            ch = chr(b[starts[bad[0]]])
            self._fail(f"unexpected {ch!r} at the start of a line (corrupt VCD?)", bad, line_base)

        is_time = kind == _TIME
        tl = np.flatnonzero(is_time)
        times = self._parse_times(b, starts[tl] + 1, lens[tl] - 1, tl, line_base)
        time_before = self.time
        if tl.size:
            self.time = int(times[-1])

        cl = np.flatnonzero((kind == _SCALAR) | (kind == _VECTOR))  # value-change lines, file order
        if not cl.size:
            return len(ends)
        vec = kind[cl] == _VECTOR
        s, e = starts[cl], ends[cl]
        id_start = s + 1
        v_start = s + vec  # after the 'b' of a vector
        if vec.any():
            # Simulators write exactly one space per vector line and none elsewhere in the body, so the
            # k-th space of the chunk is usually the k-th vector line's. If that assumption was wrong, some
            # line's value or code comes out empty or too long, and the look-back search below decides.
            spaces = np.flatnonzero(b == 32)
            if len(spaces) == np.count_nonzero(vec):
                id_start[vec] = spaces + 1
            else:
                id_start[vec] = self._code_starts(b, s[vec], e[vec], cl[vec], line_base)
        v_len = np.where(vec, id_start - 1 - v_start, 1)
        id_len = e - id_start
        wrong = (v_len < 1) | (id_len < 1) | (id_len > _MAX_CODE_BYTES)
        if wrong.any() and vec.any():
            id_start[vec] = self._code_starts(b, s[vec], e[vec], cl[vec], line_base)
            v_len = np.where(vec, id_start - 1 - v_start, 1)
            id_len = e - id_start
            wrong = (v_len < 1) | (id_len < 1) | (id_len > _MAX_CODE_BYTES)
        if wrong.any():
            what = "value change without a value or without an identifier code of 1-8 characters"
            self._fail(what, cl[wrong], line_base)
        # The identifier code as a little-endian integer: one unaligned 8-byte load per line, masked to
        # the code's length.
        loads = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
        key = loads[pre + id_start] & _CODE_MASK[id_len]
        if self.lookup is not None:
            sig = self.lookup[np.minimum(key, len(self.lookup) - 1)].astype(np.int64)
            unknown = (sig == -2) | (key >= len(self.lookup))
        else:
            pos = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
            sig = self.key_sig[pos]
            unknown = self.keys[pos] != key
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            code = bytes(b[id_start[i] : e[i]]).decode("latin-1")
            self._fail(f"unknown identifier code {code!r}", cl[unknown], line_base)
        keep = sig >= 0  # real variables count nothing
        if not keep.all():
            sig, v_start, v_len, cl = sig[keep], v_start[keep], v_len[keep], cl[keep]
        width = self.width[sig]
        over = v_len > width
        if over.any():
            i = int(np.flatnonzero(over)[0])
            self._fail(f"value of {v_len[i]} bits for a {width[i]}-bit signal", cl[over], line_base)
        if self.units:
            times_ext = np.concatenate([[time_before], times])
            window = times_ext[np.cumsum(is_time)[cl]] // self.units

        # By signal (hence by width), file order within a signal. Below 2**16 signals the key is uint16,
        # which NumPy's stable sort does as a radix sort.
        order = np.argsort(sig.astype(np.uint16) if len(self.width) < (1 << 16) else sig, kind="stable")
        sig, v_start, v_len = sig[order], v_start[order], v_len[order]
        width = self.width[sig]
        toggles = np.zeros(len(sig), dtype=np.int64)
        bounds = np.flatnonzero(np.diff(width)) + 1
        for lo, hi in zip(np.r_[0, bounds].tolist(), np.r_[bounds, len(sig)].tolist(), strict=True):
            part = slice(lo, hi)
            toggles[part] = self._width_group(
                full, pre, int(width[lo]), sig[part], v_start[part], v_len[part]
            )
        self.per_signal += np.bincount(sig, weights=toggles, minlength=len(self.per_signal)).astype(np.int64)
        self._add_windows(window[order] if self.units else None, self.cls[sig], toggles)
        return len(ends)

    def _code_starts(
        self, b: np.ndarray, s: np.ndarray, e: np.ndarray, lines: np.ndarray, line_base: int
    ) -> np.ndarray:
        """Where the identifier code of each vector line starts: after the space found by looking back
        from the line's end (codes are 1-8 characters)."""
        space = np.full(len(s), -1, dtype=np.int64)
        todo = np.arange(len(s))
        for back in range(2, _MAX_CODE_BYTES + 2):
            at = e[todo] - back
            hit = (at > s[todo]) & (b[np.maximum(at, 0)] == 32)
            space[todo[hit]] = at[hit]
            todo = todo[~hit]
            if not todo.size:
                break
        if todo.size:
            what = "vector value without an identifier code of 1-8 characters (truncated?)"
            self._fail(what, lines[todo], line_base)
        return space + 1

    def _parse_times(
        self, b: np.ndarray, start: np.ndarray, length: np.ndarray, lines: np.ndarray, line_base: int
    ) -> np.ndarray:
        """The timestamps of ``#`` lines, parsed as a matrix of digits."""
        if not start.size:
            return np.zeros(0, dtype=np.int64)
        if (length < 1).any() or (length > 18).any():
            self._fail("timestamp without digits or too long", lines[(length < 1) | (length > 18)], line_base)
        cols = np.arange(int(length.max()))
        idx = start[:, None] + cols[None, :]  # [time line, digit]
        inside = cols[None, :] < length[:, None]
        digits = np.where(inside, b[np.where(inside, idx, 0)].astype(np.int64) - 48, 0)
        if ((digits < 0) | (digits > 9)).any():
            rows = np.flatnonzero(((digits < 0) | (digits > 9)).any(axis=1))
            self._fail("timestamp is not a whole number", lines[rows], line_base)
        power = np.where(inside, 10 ** np.maximum(length[:, None] - 1 - cols[None, :], 0), 0)
        return (digits * power).sum(axis=1)

    def _width_group(
        self, full: np.ndarray, pre: int, w: int, sig: np.ndarray, v_start: np.ndarray, v_len: np.ndarray
    ) -> np.ndarray:
        """Toggles of changes of ``w``-bit signals, sorted by signal, in file order within a signal."""
        # Each value as the w characters ending at its last bit, packed to bits MSB first; the characters
        # before a short value are not its own and are replaced by its left-extension in packed form.
        chars = np.lib.stride_tricks.sliding_window_view(full, w)[pre + v_start + v_len - w]  # [change, bit]
        p_ones = np.packbits(chars == 49, axis=1)  # [change, byte]
        p_known = np.packbits((chars | 1) == 49, axis=1)  # '0' or '1'
        pad = w - v_len
        if pad.any():
            covered = self.covered[w][pad]  # [change, byte]
            lead_known = np.where((full[pre + v_start] | 1) == 49, np.uint8(0xFF), np.uint8(0))
            p_ones &= covered
            p_known = (p_known & covered) | (~covered & lead_known[:, None])
        st_ones, st_known = self.state[w]
        slot = self.slot[sig]
        first = np.empty(len(sig), dtype=bool)
        first[0] = True
        first[1:] = sig[1:] != sig[:-1]
        last = np.empty(len(sig), dtype=bool)
        last[-1] = True
        last[:-1] = first[1:]
        prev_ones = np.empty_like(p_ones)
        prev_known = np.empty_like(p_known)
        prev_ones[1:], prev_known[1:] = p_ones[:-1], p_known[:-1]
        prev_ones[first], prev_known[first] = st_ones[slot[first]], st_known[slot[first]]
        flips = (p_ones ^ prev_ones) & p_known & prev_known
        st_ones[slot[last]], st_known[slot[last]] = p_ones[last], p_known[last]
        return np.bitwise_count(flips).sum(axis=1, dtype=np.int64)

    def _add_windows(self, window: np.ndarray | None, cls: np.ndarray, toggles: np.ndarray) -> None:
        n_cls = len(CLASSES)
        if window is None:  # one window for the whole file
            window = np.zeros(len(cls), dtype=np.int64)
        hi = int(window.max()) + 1
        if hi > self.per_window.shape[0]:  # grow geometrically: windows arrive in time order
            grow = np.zeros((max(hi, 2 * self.per_window.shape[0]), n_cls), dtype=np.int64)
            grow[: self.per_window.shape[0]] = self.per_window
            self.per_window = grow
        counts = np.bincount(window * n_cls + cls, weights=toggles, minlength=hi * n_cls)
        self.per_window[:hi] += counts.astype(np.int64).reshape(hi, n_cls)
