"""Hypothesis strategies over every subcommand's files and options, as fuzz cases.

Each strategy draws a :class:`~tests.fuzz.corpus.Case`: a file or an option built from valid pieces and
hostile ones (numbers out of range, the wrong type, non-ASCII digits, control characters, truncation,
binary junk), with an expectation where the draw decides it (``ok`` when every piece was valid, ``bad``
when one piece certainly is not) and ``any`` where only the contract can be checked. The fast tier runs
them under ``@given``; :func:`drawn_cases` draws a fixed, reproducible set for the corpus.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from .corpus import CONV_CSV, FLP, NET, PTRACE, Case, tiny_onnx

# --------------------------------------------------------------------------- values

#: Texts that are not integers a user means, though Python's int() or float() may read some of them.
NOT_INTS = [
    "٤",
    "１２",
    "९",
    "4.5",
    "1e3",
    "0x10",
    "",
    " ",
    "four",
    "nan",
    "inf",
    "-",
    "4,5",
    "4 4",
    "\x00",
    "4\n4",
]
#: Characters that have no business in a name.
CONTROL = ["\n", "\r", "\t", "\x00", "\x1b", "\x7f"]


@st.composite
def int_text(draw, lo: int, hi: int) -> tuple[str, bool]:
    """An integer as text and whether it is a valid value in ``lo..hi``."""
    kind = draw(st.sampled_from(["in", "in", "in", "edge", "out", "junk"]))
    if kind == "in":
        v = draw(st.integers(lo, min(hi, lo + 64)))
        return str(v), True
    if kind == "edge":
        v = draw(st.sampled_from([lo, hi, lo - 1, hi + 1]))
        return str(v), lo <= v <= hi
    if kind == "out":
        v = draw(st.one_of(st.integers(max_value=lo - 1), st.integers(min_value=hi + 1)))
        return str(v), False
    return draw(st.sampled_from(NOT_INTS)), False


@st.composite
def toml_value(draw, lo: float, hi: float, integer: bool) -> tuple[str, bool | None]:
    """A TOML value for a numeric field: (text, valid) with valid None when it cannot be told."""
    kind = draw(st.sampled_from(["in", "in", "edge", "out", "type", "special"]))
    if kind == "in":
        if integer:
            return str(draw(st.integers(int(lo), int(min(hi, lo + 64))))), True
        v = draw(st.floats(lo, hi, allow_nan=False))
        return repr(v), True
    if kind == "edge":
        v = draw(st.sampled_from([lo, hi]))
        return (str(int(v)) if integer else repr(float(v))), True
    if kind == "out":
        v = draw(st.sampled_from([lo - 1, hi * 10 + 1, -abs(hi) - 1, 10**30]))
        return (str(int(v)) if integer else repr(float(v))), False
    if kind == "type":
        return draw(st.sampled_from(['"8"', "true", "[4]", "{a = 1}", '"٤"', "1979-05-27"])), False
    return draw(st.sampled_from(["nan", "inf", "-inf", "+nan"])), False


#: Numeric fields whose validity does not depend on other fields: field -> (section, lo, hi, integer).
SIMPLE_FIELDS = {
    "rows": ("array", 1, 4096, True),
    "cols": ("array", 1, 4096, True),
    "ifmap_sram_bytes": ("memory", 1, 2**40, True),
    "filter_sram_bytes": ("memory", 1, 2**40, True),
    "ofmap_sram_bytes": ("memory", 1, 2**40, True),
    "memory_banks": ("memory", 1, 1024, True),
    "dram_bw_words_per_cycle": ("dram", 1, 1 << 20, True),
    "dram_latency_cycles": ("dram", 0, 1 << 20, True),
    "clock_hz": ("technology", 1e3, 1e11, False),
    "tech_node_nm": ("technology", 3.0, 250.0, False),
}


@st.composite
def arch_toml(draw) -> tuple[bytes, str]:
    """A systolic architecture TOML and its expectation."""
    chosen = draw(st.lists(st.sampled_from(sorted(SIMPLE_FIELDS)), min_size=0, max_size=5, unique=True))
    sections: dict[str, list[str]] = {}
    valid: bool | None = True
    for name in chosen:
        section, lo, hi, integer = SIMPLE_FIELDS[name]
        text, ok = draw(toml_value(lo, hi, integer))
        sections.setdefault(section, []).append(f"{name} = {text}")
        valid = valid if ok else (False if ok is False else None)
    lines = []
    name_kind = draw(st.sampled_from(["none", "plain", "control"]))
    if name_kind == "plain":
        lines.append('name = "fuzz"')
    elif name_kind == "control":
        lines.append(f"name = {json.dumps('a' + draw(st.sampled_from(CONTROL)) + 'b')}")
        valid = False
    for section, entries in sections.items():
        lines += [f"[{section}]", *entries]
    text = ("\n".join(lines) + "\n").encode()
    if not chosen:
        valid = False  # no architecture field: nothing to build
    mangle = draw(st.sampled_from(["none"] * 6 + ["truncate", "junk"]))
    if mangle != "none":
        text, valid = _mangle(draw, text), None
    return text, _expect(valid)


def _expect(valid: bool | None) -> str:
    return "ok" if valid else "bad" if valid is False else "any"


def _mangle(draw, data: bytes) -> bytes:
    """``data`` truncated somewhere, or with a junk byte inserted."""
    if not data:
        return draw(st.binary(max_size=16))
    at = draw(st.integers(0, len(data)))
    if draw(st.booleans()):
        return data[:at]
    junk = draw(st.sampled_from([b"\x00", b"\xff", b"\n[", b"=", b'"', "٤".encode(), b"\r"]))
    return data[:at] + junk + data[at:]


@st.composite
def scalesim_cfg(draw) -> tuple[bytes, str]:
    """A SCALE-Sim .cfg and its expectation."""
    keys = {  # the real ranges (config.py): sizes up to 2^40 bytes, bandwidths up to 2^20 words
        "ArrayHeight": (1, 4096),
        "ArrayWidth": (1, 4096),
        "IfmapSramSzkB": (1, 1 << 30),
        "Bandwidth": (1, 1 << 20),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(keys)), min_size=0, max_size=4, unique=True))
    valid: bool | None = True
    body = []
    for key in chosen:
        text, ok = draw(int_text(*keys[key]))
        body.append(f"{key}: {text}")
        valid = valid and ok
    lines = ["[general]", "run_name = fuzz"]
    if draw(st.booleans()) or chosen:
        lines.append("[architecture_presets]")
        lines += body
    if not {"ArrayHeight", "ArrayWidth"} <= set(chosen):
        valid = False if not chosen else None
    data = ("\n".join(lines) + "\n").encode()
    if any("\n" in line[1:] or "\x00" in line for line in body):
        valid = None
    if draw(st.integers(0, 7)) == 0:
        data, valid = _mangle(draw, data), None
    return data, _expect(valid)


FIELD_NAMES = [
    "rows",
    "cols",
    "dataflow",
    "clock_hz",
    "vdd_v",
    "name",
    "zero_gating",
    "input_bits",
    "acc_bits",
    "dvfs_vdd_v",
    "nosuch",
]


@st.composite
def override(draw) -> tuple[str, str]:
    """One ``--set FIELD=VALUE`` and its expectation."""
    field = draw(st.sampled_from(FIELD_NAMES))
    if field in ("rows", "cols"):
        text, ok = draw(int_text(1, 4096))
        return f"{field}={text}", _expect(ok)
    if field == "name":
        name = draw(st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=8))
        bad = not name.strip() or any(c in name for c in CONTROL + ["/", "\\"]) or not name.isprintable()
        return f"name={name}", "bad" if bad else "any"
    value = draw(
        st.one_of(st.sampled_from(NOT_INTS), st.sampled_from(["os", "true", "0.8", "1e9", "0.7,0.9"]))
    )
    return f"{field}={value}", "bad" if field == "nosuch" else "any"


@st.composite
def topology_csv(draw) -> tuple[bytes, str]:
    """A GEMM or conv topology CSV and its expectation."""
    conv = draw(st.booleans())
    header = CONV_CSV.splitlines()[0] if conv else b"Layer,M,N,K"
    width = 7 if conv else 3
    rows, valid = [], True
    for i in range(draw(st.integers(0, 4))):
        cells = []
        for _ in range(width):
            text, ok = draw(int_text(1, 2**40))  # dimensions up to 2^40 (workload.py)
            cells.append(text)
            valid = valid and ok
        if conv:
            valid = None if valid else valid  # the filter may not fit the ifmap
        extra = draw(st.sampled_from([0, 0, 0, 1, 2]))
        cells += [str(draw(st.integers(1, 9))) for _ in range(extra)]
        if extra:
            valid = False
        if any("," in c or "\n" in c or "\x00" in c or c.strip() != c for c in cells):
            valid = None
        rows.append(",".join([f"l{i}", *cells]).encode())
    if not rows:
        valid = False
    data = b"\n".join([header, *rows]) + b"\n"
    if draw(st.integers(0, 7)) == 0:
        data, valid = _mangle(draw, data), None
    return data, _expect(valid)


# --------------------------------------------------------------------------- cases


@st.composite
def config_cases(draw) -> Case:
    kind = draw(st.sampled_from(["toml", "cfg", "set"]))
    if kind == "toml":
        data, expect = draw(arch_toml())
        return Case("", ("config", "show", "a.toml"), expect, files=(("a.toml", data),))
    if kind == "cfg":
        data, expect = draw(scalesim_cfg())
        return Case("", ("config", "show", "a.cfg"), expect, files=(("a.cfg", data),))
    sets = draw(st.lists(override(), min_size=1, max_size=3))
    last = {text.split("=")[0]: e for text, e in sets}  # a later --set of a field wins over an earlier one
    expect = "bad" if "bad" in last.values() else "any"
    argv = ["config", "show", "small-8x8"]
    for text, _ in sets:
        argv += ["--set", text]
    return Case("", tuple(argv), expect)


@st.composite
def workload_cases(draw) -> Case:
    kind = draw(st.sampled_from(["csv", "csv", "onnx"]))
    if kind == "onnx":
        data = _mangle(draw, tiny_onnx())
        return Case("", ("workload", "show", "t.onnx"), "any", files=(("t.onnx", data),))
    data, expect = draw(topology_csv())
    cmd = draw(st.sampled_from(["show", "run"]))
    if cmd == "show":
        return Case("", ("workload", "show", "t.csv"), expect, files=(("t.csv", data),))
    argv = ("run", "--arch", "small-8x8", "--topology", "t.csv", "--memory-only")
    # a valid topology of 2^40-long layers is rightly refused by the run's estimate: only nonsense is pinned
    return Case("", argv, "bad" if expect == "bad" else "any", files=(("t.csv", data),))


def _grid_flp(draw) -> tuple[bytes, bytes, bool | None]:
    """A floorplan of rows x cols blocks with drawn sizes and a power trace for it."""
    nr, nc = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    w = draw(st.sampled_from([1e-3, 5e-3, 1e-2, 1e-9, 1e-300, 1e300, 0.0, -1e-3]))
    h = draw(st.sampled_from([1e-3, 5e-3, 2e-2]))
    sane = 1e-6 <= w and nc * w <= 0.03 and nr * h <= 0.03  # the die fits HotSpot's 30 mm spreader
    names = [f"b{i}_{j}" for i in range(nr) for j in range(nc)]
    flp = "".join(f"b{i}_{j} {w!r} {h!r} {j * w!r} {i * h!r}\n" for i in range(nr) for j in range(nc))
    power = draw(
        st.lists(
            st.sampled_from(["0", "1", "2.5", "10", "1e308", "-1", "nan", "inf", "٣", "1e3"]),
            min_size=len(names),
            max_size=len(names),
        )
    )
    good_power = all(p in ("0", "1", "2.5", "10") for p in power)
    bad_power = any(p in ("1e308", "-1", "nan", "inf", "٣") for p in power)
    trace = "\t".join(names) + "\n" + "\t".join(power) + "\n"
    valid = True if sane and good_power else False if (bad_power or w <= 0 or w >= 1e300) else None
    return flp.encode(), trace.encode(), valid


HOTSPOT_OPTIONS = {
    "-ambient": ["318.15", "0", "-1", "1e300", "nan", "300"],
    "-init_temp": ["333.15", "0", "-1", "1e9"],
    "-sampling_intvl": ["3.333e-6", "0", "-1", "1e-3", "1e300"],
    "-grid_rows": ["4", "16", "0", "-2", "1.5", "٤"],
    "-model_type": ["block", "grid", "mesh"],
    "-r_convec": ["0.1", "0", "1e-300"],
    "-t_chip": ["0.00015", "0", "1e-300", "1"],
    "-leakage_used": ["0", "1", "2"],
}
GOOD_HOTSPOT = {
    "-ambient": {"318.15", "300"},
    "-init_temp": {"333.15"},
    "-sampling_intvl": {"3.333e-6", "1e-3"},
    "-grid_rows": {"4", "16"},
    "-model_type": {"block", "grid"},
    "-r_convec": {"0.1"},
    "-t_chip": {"0.00015"},
    "-leakage_used": {"0", "1"},
}
BAD_HOTSPOT = {
    "-ambient": {"0", "-1", "1e300", "nan"},
    "-init_temp": {"0", "-1", "1e9"},
    "-sampling_intvl": {"0", "-1"},
    "-grid_rows": {"0", "-2", "1.5", "٤"},
    "-model_type": {"mesh"},
    "-r_convec": {"0"},
    "-t_chip": {"0"},
    "-leakage_used": {"2"},
}


@st.composite
def thermal_cases(draw) -> Case:
    if draw(st.booleans()):
        flp, trace, valid = FLP, PTRACE, True
    else:
        flp, trace, valid = _grid_flp(draw)
    argv = ["thermal", "-f", "a.flp", "-p", "a.ptrace"]
    for key in draw(st.lists(st.sampled_from(sorted(HOTSPOT_OPTIONS)), max_size=3, unique=True)):
        value = draw(st.sampled_from(HOTSPOT_OPTIONS[key]))
        argv += [key, value]
        if value in BAD_HOTSPOT[key]:
            valid = False
        elif value not in GOOD_HOTSPOT[key] and valid:
            valid = None
    if draw(st.booleans()):
        argv += ["-o", "a.ttrace"]
    if "-grid_rows" in argv and "grid" not in argv and valid:
        valid = None
    return Case("", tuple(argv), _expect(valid), files=(("a.flp", flp), ("a.ptrace", trace)))


#: Output targets: (name, files before, links before, --out value, expectation).
TARGETS = [
    ("new", (), (), "o", "ok"),
    ("nested", (), (), "x/y/o", "ok"),
    ("empty-dir", (("o", None),), (), "o", "ok"),
    ("user-files", (("o/mine.txt", b"mine\n"), ("o/deep/er.bin", b"\x00")), (), "o", "any"),
    ("user-collision", (("o/summary.json", b"{}\n"),), (), "o", "bad"),
    ("user-manifest-junk", (("o/.systolic-manifest.json", b"not json"),), (), "o", "any"),
    (
        "user-manifest-lies",
        (
            ("o/.systolic-manifest.json", b'{"files": ["../net.csv", "/etc/passwd", "mine.txt"]}'),
            ("o/mine.txt", b"m\n"),
        ),
        (),
        "o",
        "any",
    ),
    ("file", (("o", b"file\n"),), (), "o", "bad"),
    ("under-file", (("f", b"file\n"),), (), "f/o", "bad"),
    ("symlink-dir", (("real", None), ("real/keep", b"k\n")), (("o", "real"),), "o", "ok"),
    ("symlink-file", (("real", b"r\n"),), (("o", "real"),), "o", "bad"),
    ("dangling", (), (("o", "missing"),), "o", "any"),
    ("dot", (), (), ".", "bad"),
    ("input", (), (), "net.csv", "bad"),
    ("slash", (), (), "o/", "ok"),
]


@st.composite
def output_cases(draw) -> Case:
    name, files, links, out, expect = draw(st.sampled_from(TARGETS))
    cmd = draw(st.sampled_from(["run", "run", "memory", "dvfs"]))
    if cmd == "dvfs":
        argv = ("dvfs", "--arch", "small-8x8", "--topology", "net.csv", "--deadline-ms", "1", "--out", out)
    else:
        extra = ("--memory-only",) if cmd == "memory" else ()
        argv = ("run", "--arch", "small-8x8", "--topology", "net.csv", *extra, "--out", out)
    return Case("", argv, expect, files=(*NET, *files), links=links)


@st.composite
def run_option_cases(draw) -> Case:
    """``systolic run`` with drawn options."""
    options = {
        "--zero-frac": ["0", "0.5", "1", "1.5", "-1", "nan"],
        "--interval": ["10us", "100cycles", "0us", "1e9s", "abc", "-1ns", "1ns", "1e-15s"],
        "--policy": ["none", "race", "deadline", "activity", "turbo"],
        "--temp-limit-c": ["90", "0", "-500", "nan", "1e9"],
        "--set": ["rows=4", "rows=٤", "dram_bw_words_per_cycle=1", "clock_hz=1e3", "clock_hz=１e9"],
    }
    good = {
        "--zero-frac": {"0", "0.5", "1"},
        "--interval": {"100cycles"},  # 10us: longer than the 628-cycle run (refused) unless the clock is slow
        "--policy": {"none", "race"},
    }
    bad = {
        "--zero-frac": {"1.5", "-1", "nan"},
        "--interval": {"0us", "1e9s", "abc", "-1ns", "1e-15s"},
        "--policy": {"turbo"},
        "--temp-limit-c": {"0", "-500", "nan", "1e9"},
        "--set": {"rows=٤", "clock_hz=１e9"},
    }
    argv = ["run", "--arch", "small-8x8", "--topology", "net.csv"]
    valid: bool | None = True
    for key in draw(st.lists(st.sampled_from(sorted(options)), max_size=3, unique=True)):
        value = draw(st.sampled_from(options[key]))
        argv += [key, value]
        if value in bad.get(key, ()):
            valid = False
        elif value not in good.get(key, ()) and valid:
            valid = None
    return Case("", tuple(argv), _expect(valid), files=NET)


@st.composite
def sweep_spec(draw) -> tuple[bytes, str]:
    """A sweep spec and its expectation."""
    lines = []
    valid: bool | None = True
    base = draw(st.sampled_from(["small-8x8", "small-8x8", "nope", "٤"]))
    if base != "small-8x8":
        valid = False
    lines.append(f"base = {json.dumps(base)}")
    nets = draw(st.sampled_from([["net.csv"], ["net.csv"], [], ["nope.csv"], "net.csv"]))
    if nets in ([], ["nope.csv"]):
        valid = False
    lines.append(f"networks = {json.dumps(nets)}")
    mode = draw(st.sampled_from(["grid", "grid", "random", "spiral"]))
    lines.append(f'mode = "{mode}"')
    if mode == "spiral":
        valid = False
    if mode == "random":
        samples, ok = draw(int_text(1, 6))
        if samples.lstrip("-").isdigit() and samples.isascii():
            lines.append(f"samples = {samples}")
            valid = valid and ok
        else:
            lines.append(f"samples = {json.dumps(samples)}")
            valid = False
    lines.append("[space]")
    rows = draw(st.lists(st.sampled_from(["4", "8", "0", '"8"', "nan", "5000"]), min_size=0, max_size=3))
    if not rows or any(r in ("0", '"8"', "nan", "5000") for r in rows):
        valid = False
    lines.append(f"rows = [{', '.join(rows)}]")
    data = ("\n".join(lines) + "\n").encode()
    if draw(st.integers(0, 7)) == 0:
        data, valid = _mangle(draw, data), None
    return data, _expect(valid)


@st.composite
def sweep_cases(draw) -> Case:
    data, expect = draw(sweep_spec())
    argv = ("sweep", "s.toml", "--out", "o", "--workers", "1", "--quiet")
    return Case("", argv, expect, files=(("s.toml", data), *NET), deep=True, timeout_s=300)


@st.composite
def cosim_cases(draw) -> Case:
    """cosim options that must be refused before any simulator starts."""
    gemm = draw(st.sampled_from(["4,4,4", "0,4,4", "-1,4,4", "65536,1,1", "a,b,c", "٤,4,4", "4,4"]))
    jobs = draw(st.sampled_from(["2", "0", "-1"]))
    seed = draw(st.sampled_from(["0", "-1", "99999999999999999999"]))
    if gemm == "4,4,4" and jobs == "2" and seed == "0":
        seed = "-1"
    argv = (
        "cosim",
        "--arch",
        "small-8x8",
        f"--gemm={gemm}",
        "--jobs",
        jobs,
        f"--seed={seed}",
        "--sim",
        "icarus",
    )
    return Case("", argv, "bad", timeout_s=30)


KINDS = {
    "config": (config_cases(), 70),
    "workload": (workload_cases(), 50),
    "thermal": (thermal_cases(), 35),
    "out": (output_cases(), 25),
    "runopt": (run_option_cases(), 25),
    "cosim": (cosim_cases(), 10),
    "sweep": (sweep_cases(), 10),
}


def _collect(strategy, n: int) -> list[Case]:
    found: list[Case] = []

    @settings(
        derandomize=True,
        max_examples=n,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(case: Case) -> None:
        found.append(case)

    collect()
    unique = list({(c.argv, c.files, c.links): c for c in found}.values())
    return unique[:n]


def drawn_cases(total: int = 200) -> list[Case]:
    """A fixed, reproducible set of drawn cases (about ``total``), named ``gen-<kind>-<i>``."""
    import dataclasses

    weight = sum(n for _, n in KINDS.values())
    out = []
    for kind, (strategy, n) in KINDS.items():
        for i, case in enumerate(_collect(strategy, max(1, round(total * n / weight)))):
            out.append(dataclasses.replace(case, name=f"gen-{kind}-{i:03d}"))
    return out
