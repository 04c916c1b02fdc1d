"""The fixed fuzz corpus: malformed and edge-case inputs over every subcommand, the way a careless or hostile
user would try them (issue 17), each with what the contract expects.

A :class:`Case` is a command line, the files it finds in its folder, and an expectation: ``ok`` (valid input,
exit 0), ``bad`` (nonsense: exit 2 with one line) or ``any`` (either, as long as the contract holds: no
traceback, no hang, no lost file). :func:`curated` builds the hand-written cases; ``strategies.py`` adds the
generated ones (hypothesis); :func:`corpus` is both, the list ``python -m tests.fuzz`` runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

#: A check of a successful case's folder, stdout and stderr: a problem in words, or None.
Check = Callable[[Path, str, str], "str | None"]


@dataclass(frozen=True)
class Case:
    """One command line in a folder of its own.

    Attributes
    ----------
    name : str
        Unique; the folder's name.
    argv : tuple of str
        The arguments after ``systolic``.
    expect : str
        ``ok``, ``bad`` or ``any`` (see the module docstring).
    files : tuple of (path, bytes or None)
        Files (None: a folder) created before the command runs; all are the user's and must survive.
    links : tuple of (path, target)
        Symlinks created before the command runs.
    readonly : tuple of str
        Folders made read-only (mode 0555) before the command runs.
    prior : tuple of argv
        ``systolic`` commands run first, whose outputs the case's command may replace.
    after_prior : tuple of (path, bytes)
        Files written over the prior commands' outputs before the command runs (a corrupted part).
    outputs : tuple of str
        Pre-existing files the command names as its outputs (``-o FILE``), which it may rewrite.
    isolate : bool
        Run as a subprocess with time and memory limits even in the fast tier (possible blow-ups).
    deep : bool
        Too slow for the fast tier (``make test``): only in the deep tier.
    timeout_s : float
        Time limit.
    check : callable, optional
        Extra check of a successful run.
    """

    name: str
    argv: tuple[str, ...]
    expect: str
    files: tuple[tuple[str, bytes | None], ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    readonly: tuple[str, ...] = ()
    prior: tuple[tuple[str, ...], ...] = ()
    after_prior: tuple[tuple[str, bytes], ...] = ()
    outputs: tuple[str, ...] = ()
    isolate: bool = False
    deep: bool = False
    timeout_s: float = 60.0
    check: Check | None = None


# --------------------------------------------------------------------------- valid inputs

ARCH_TOML = b"""name = "tiny"
[array]
rows = 4
cols = 4
dataflow = "ws"
[memory]
ifmap_sram_bytes = 2048
filter_sram_bytes = 2048
ofmap_sram_bytes = 2048
"""

ARCH_CFG = b"""[general]
run_name = tiny_cfg

[architecture_presets]
ArrayHeight: 4
ArrayWidth: 4
IfmapSramSzkB: 2
FilterSramSzkB: 2
OfmapSramSzkB: 2
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Dataflow: os
Bandwidth: 4
"""

GEMM_CSV = b"Layer,M,N,K\nl1,16,16,16\nl2,8,24,12\n"
CONV_CSV = (
    b"Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,Num Filter,Strides,\n"
    b"conv1,8,8,3,3,2,4,1,\n"
)

#: A 2x2 floorplan of a 1 cm x 1 cm die (metres) and a three-row power trace for it.
FLP = b"# tiny\na 0.005 0.005 0 0\nb 0.005 0.005 0.005 0\nc 0.005 0.005 0 0.005\nd 0.005 0.005 0.005 0.005\n"
PTRACE = b"a\tb\tc\td\n1.0\t2.0\t0.5\t0.0\n2.0\t1.0\t0.5\t0.1\n0.5\t0.5\t0.5\t0.5\n"
HOTSPOT_CONFIG = b"-ambient 318.15\n-init_temp 333.15\n-sampling_intvl 3.333e-06\n"

SWEEP_SPEC = b"""base = "small-8x8"
networks = ["net.csv"]
mode = "grid"
[space]
rows = [4, 8]
"""


@cache
def tiny_onnx() -> bytes:
    """A MatMul of a [4, 8] input by an [8, 6] weight, as ONNX bytes."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 6])
    w = numpy_helper.from_array(np.zeros((8, 6), dtype=np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


@cache
def calibration_bytes() -> bytes:
    from systolic.formats.calibration import default_calibration_path

    return default_calibration_path().read_bytes()


def _npy(rows: int, cols: int, dtype: type = int) -> bytes:
    """A small .npy array of ``dtype`` (values 0..5)."""
    import io

    import numpy as np

    buf = io.BytesIO()
    np.save(buf, (np.arange(rows * cols) % 6).reshape(rows, cols).astype(dtype))
    return buf.getvalue()


def _toml_with(**fields: str) -> bytes:
    """ARCH_TOML with ``[array]``-style fields replaced or added (values as TOML text)."""
    lines = ARCH_TOML.decode().splitlines()
    out = []
    for line in lines:
        key = line.split("=")[0].strip()
        if key in fields:
            out.append(f"{key} = {fields.pop(key)}")
        else:
            out.append(line)
    for key, value in fields.items():
        out.insert(out.index("[array]") + 1, f"{key} = {value}")
    return ("\n".join(out) + "\n").encode()


# --------------------------------------------------------------------------- checks


def no_absolute_paths(folder: Path, out: str, err: str) -> str | None:
    """No output file holds the absolute path of the case folder (outputs must not differ by machine)."""
    needle = str(folder.resolve()).encode()
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
            return f"{path.name} holds the absolute path {needle.decode()}"
    return None


def manifest_lists(out: str, users: tuple[str, ...] = ()) -> Check:
    """The output folder ``out`` has a manifest that lists every file in it but the user's ``users``, each
    with its size and hash."""

    def check(folder: Path, stdout: str, stderr: str) -> str | None:
        import hashlib

        root = folder / out
        manifest = root / ".systolic-manifest.json"
        if not manifest.is_file():
            return f"{out}/.systolic-manifest.json missing"
        listed = json.loads(manifest.read_text())["files"]
        present = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p != manifest}
        if present - set(users) != set(listed):
            return f"manifest lists {sorted(listed)[:4]}, folder holds {sorted(present)[:4]}"
        for rel, sig in listed.items():
            data = (root / rel).read_bytes()
            if sig["bytes"] != len(data) or sig.get("sha256", hashlib.sha256(data).hexdigest()) != (
                hashlib.sha256(data).hexdigest()
            ):
                return f"{rel} does not match its manifest entry"
        return None

    return check


def modes_follow_umask(out: str) -> Check:
    """Files and folders under ``out`` have the umask's permissions (0644 and 0755 under umask 022)."""

    def check(folder: Path, stdout: str, stderr: str) -> str | None:
        umask = _umask()
        root = folder / out
        for path in [root, *root.rglob("*")]:
            if path.is_symlink():
                continue
            want = (0o777 if path.is_dir() else 0o666) & ~umask
            got = path.stat().st_mode & 0o777
            if got != want:
                return f"{path.relative_to(folder)} has mode {got:o}, want {want:o}"
        return None

    return check


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def both(*checks: Check) -> Check:
    def check(folder: Path, out: str, err: str) -> str | None:
        for c in checks:
            problem = c(folder, out, err)
            if problem:
                return problem
        return None

    return check


# --------------------------------------------------------------------------- curated cases


def _cases() -> list[Case]:
    cases: list[Case] = []

    def add(name: str, argv: str | list[str], expect: str, **kw) -> None:
        args = tuple(argv.split()) if isinstance(argv, str) else tuple(argv)
        cases.append(Case(name, args, expect, **kw))

    _global(add)
    _configs(add)
    _workloads(add)
    _run_outputs(add)
    _run_options(add)
    _dvfs(add)
    _thermal(add)
    _hdl(add)
    _cosim(add)
    _sweep(add)
    _calibrate_accuracy(add)
    _llm(add)
    return cases


def _global(add) -> None:
    add("global-none", [], "bad")
    add("global-help", "--help", "ok")
    add("global-version", "--version", "ok")
    add("global-unknown", "frobnicate", "bad")
    add("global-empty-arg", [""], "bad")
    for sub in ("run", "dvfs", "thermal", "hdl", "cosim", "sweep", "accuracy"):
        add(f"global-{sub}-noargs", [sub], "bad")
    add("global-config-noargs", "config", "bad")
    add("global-workload-noargs", "workload", "bad")


#: Architecture files that are not architectures: (name, file name, bytes).
BAD_ARCH_FILES = [
    ("empty-toml", "a.toml", b""),
    ("comment-toml", "a.toml", b"# just a comment\n\n"),
    ("whitespace-toml", "a.toml", b"   \n\t\n"),
    ("empty-cfg", "a.cfg", b""),
    ("comment-cfg", "a.cfg", b"; nothing\n# here\n"),
    ("cfg-no-presets", "a.cfg", b"[general]\nrun_name = x\n"),
    ("cfg-only-run-presets", "a.cfg", b"[run_presets]\nInterfaceBandwidth: USER\n"),
    ("toml-only-name", "a.toml", b'name = "x"\n'),
    ("toml-empty-array", "a.toml", b"[array]\n"),
    ("toml-binary", "a.toml", bytes(range(256))),
    ("toml-latin1", "a.toml", 'name = "caf\xe9"\n'.encode("latin-1")),
    ("toml-rows-string", "a.toml", _toml_with(rows='"8"')),
    ("toml-rows-zero", "a.toml", _toml_with(rows="0")),
    ("toml-rows-neg", "a.toml", _toml_with(rows="-3")),
    ("toml-rows-float", "a.toml", _toml_with(rows="4.5")),
    ("toml-rows-huge", "a.toml", _toml_with(rows="1000000000000000000000")),
    ("toml-rows-bool", "a.toml", _toml_with(rows="true")),
    ("toml-rows-array", "a.toml", _toml_with(rows="[4]")),
    ("toml-dataflow-bad", "a.toml", _toml_with(dataflow='"rs"')),
    ("toml-dataflow-int", "a.toml", _toml_with(dataflow="3")),
    ("toml-name-newline", "a.toml", b'name = "two\\nlines"\n[array]\nrows = 4\n'),
    ("toml-name-tab", "a.toml", b'name = "a\\tb"\n[array]\nrows = 4\n'),
    ("toml-name-empty", "a.toml", b'name = ""\n[array]\nrows = 4\n'),
    ("toml-name-bracket", "a.toml", b'name = "[general]"\n[array]\nrows = 4\n', "any"),
    ("toml-name-slash", "a.toml", b'name = "../../etc/x"\n[array]\nrows = 4\n'),
    ("toml-name-int", "a.toml", b"name = 5\n[array]\nrows = 4\n"),
    ("toml-unknown-section", "a.toml", b"[arrray]\nrows = 4\n"),
    ("toml-unknown-key", "a.toml", b"[array]\nrowz = 4\n"),
    ("toml-section-not-table", "a.toml", b"array = 4\n"),
    ("toml-clock-nan", "a.toml", b"[technology]\nclock_hz = nan\n"),
    ("toml-clock-inf", "a.toml", b"[technology]\nclock_hz = inf\n"),
    ("toml-vdd-neg", "a.toml", b"[technology]\nvdd_v = -0.9\n"),
    ("toml-acc-small", "a.toml", b"[precision]\nacc_bits = 8\n"),
    ("toml-sram-zero", "a.toml", b"[memory]\nifmap_sram_bytes = 0\n"),
    ("toml-sram-huge", "a.toml", b"[memory]\nifmap_sram_bytes = 1e30\n"),
    ("toml-dvfs-unordered", "a.toml", b"[dvfs]\ndvfs_vdd_v = [0.9, 0.8]\n"),
    ("toml-dvfs-string", "a.toml", b'[dvfs]\ndvfs_vdd_v = "0.8"\n'),
    ("toml-dup-key", "a.toml", b"[array]\nrows = 4\nrows = 5\n"),
    ("toml-malformed", "a.toml", b"[array\nrows = 4\n"),
    ("toml-nul", "a.toml", b"[array]\nrows = 4\x00\n"),
    ("toml-bom", "a.toml", b"\xef\xbb\xbf[array]\nrows = 4\n", "any"),
    ("cfg-nonascii-digit", "a.cfg", ARCH_CFG.replace(b"ArrayHeight: 4", "ArrayHeight: ९".encode())),
    ("cfg-fullwidth-digit", "a.cfg", ARCH_CFG.replace(b"ArrayHeight: 4", "ArrayHeight: １２".encode())),
    ("cfg-arabic-digit", "a.cfg", ARCH_CFG.replace(b"ArrayHeight: 4", "ArrayHeight: ٤".encode())),
    ("cfg-underscore-int", "a.cfg", ARCH_CFG.replace(b"ArrayHeight: 4", b"ArrayHeight: 1_6"), "any"),
    ("cfg-negative", "a.cfg", ARCH_CFG.replace(b"ArrayHeight: 4", b"ArrayHeight: -4")),
    ("cfg-float", "a.cfg", ARCH_CFG.replace(b"ArrayHeight: 4", b"ArrayHeight: 4.0")),
    ("cfg-dup-section", "a.cfg", ARCH_CFG + b"[architecture_presets]\nArrayWidth: 8\n"),
    ("cfg-dup-key", "a.cfg", ARCH_CFG + b"ArrayWidth: 8\n"),
    ("cfg-unknown-section", "a.cfg", ARCH_CFG + b"[weird]\nx: 1\n"),
    ("cfg-sparsity-on", "a.cfg", ARCH_CFG + b"[sparsity]\nSparsitySupport: true\n"),
    ("cfg-name-newline", "a.cfg", ARCH_CFG.replace(b"run_name = tiny_cfg", b"run_name = a\n  b")),
    ("cfg-bandwidth-list", "a.cfg", ARCH_CFG.replace(b"Bandwidth: 4", b"Bandwidth: 4,8")),
    ("cfg-binary", "a.cfg", b"\x00\x01\x02[architecture_presets]\n"),
    ("cfg-no-section", "a.cfg", b"ArrayHeight: 4\n"),
]

#: --set overrides that are nonsense.
BAD_SETS = [
    "rows=९",
    "rows=１２",
    "rows=٤",
    "rows=",
    "rows=4.5",
    "rows=0x10",
    "rows=1e3",
    "rows=-1",
    "rows=99999999999999999999999",
    "rows",
    "=4",
    "nosuch=4",
    "clock_hz=nan",
    "clock_hz=inf",
    "clock_hz=-1e9",
    "clock_hz=１e9",
    "vdd_v=",
    "zero_gating=maybe",
    "dataflow=",
    "dataflow=xs",
    "name=",
    "name=a\nb",
    "name=a\rb",
    "name=tab\there",
    "dvfs_vdd_v=a,b",
    "dvfs_vdd_v=0.9,0.8",
    "dvfs_domains=core",
    "interface_bandwidth=fast",
    "acc_bits=9",
    "word_bytes=0",
]


def _configs(add) -> None:
    for name, fname, data, *expect in BAD_ARCH_FILES:
        add(f"config-{name}", ["config", "show", fname], (expect or ["bad"])[0], files=((fname, data),))
    # the same files given to commands that do work with them: refused before any work
    for name, fname, data, *_ in BAD_ARCH_FILES[:8]:
        add(
            f"run-arch-{name}",
            ["run", "--arch", fname, "--topology", "net.csv", "--out", "o"],
            "bad",
            files=((fname, data), ("net.csv", GEMM_CSV)),
        )
        add(f"hdl-arch-{name}", ["hdl", "--arch", fname, "-o", "x.v"], "bad", files=((fname, data),))
    for i, text in enumerate(BAD_SETS):
        add(f"config-set-{i:02d}", ["config", "show", "small-8x8", "--set", text], "bad")
    add("config-devnull", "config show /dev/null", "bad")
    add("config-devzero", "config show /dev/zero", "bad", isolate=True, timeout_s=30)
    add("config-devzero-toml", "config show z.toml", "bad", links=(("z.toml", "/dev/zero"),), isolate=True)
    add("config-dir", "config show d", "bad", files=(("d", None),))
    add("config-dir-toml", "config show d.toml", "bad", files=(("d.toml", None),))
    add("config-missing", "config show missing.toml", "bad")
    add("config-dangling-link", "config show l.toml", "bad", links=(("l.toml", "nowhere.toml"),))
    add("config-huge-file", "config show big.toml", "bad", files=(("big.toml", b"#" * (80 << 20)),))
    add("config-ok-file", "config show a.toml", "ok", files=(("a.toml", ARCH_TOML),))
    add("config-ok-cfg", "config show a.cfg --format json", "ok", files=(("a.cfg", ARCH_CFG),))
    add(
        "config-ok-link",
        "config show l.toml",
        "ok",
        files=(("a.toml", ARCH_TOML),),
        links=(("l.toml", "a.toml"),),
    )
    for fmt in ("table", "toml", "json", "scalesim"):
        add(f"config-ok-{fmt}", f"config show small-8x8 --format {fmt}", "ok")
    add("config-format-bad", "config show small-8x8 --format yaml", "bad")
    add("config-list", "config list", "ok")
    add("config-scalesim-kb", "config show small-8x8 --set ifmap_sram_bytes=1000 --format scalesim", "bad")


#: Topology files that are not topologies: (name, file name, bytes).
BAD_TOPOLOGIES = [
    ("empty", "t.csv", b""),
    ("header-only", "t.csv", b"Layer,M,N,K\n"),
    ("comment-only", "t.csv", b"# nothing\n"),
    ("extra-values", "t.csv", b"Layer,M,N,K\nl1,16,16,16,99\n"),
    ("extra-values-2", "t.csv", b"Layer,M,N,K\nl1,16,16,16,4,5,6\n"),
    ("missing-values", "t.csv", b"Layer,M,N,K\nl1,16,16\n"),
    ("arabic-digit", "t.csv", "Layer,M,N,K\nl1,٤,16,16\n".encode()),
    ("fullwidth-digit", "t.csv", "Layer,M,N,K\nl1,１２,16,16\n".encode()),
    ("devanagari-digit", "t.csv", "Layer,M,N,K\nl1,९,16,16\n".encode()),
    ("zero", "t.csv", b"Layer,M,N,K\nl1,0,16,16\n"),
    ("negative", "t.csv", b"Layer,M,N,K\nl1,-16,16,16\n"),
    ("float", "t.csv", b"Layer,M,N,K\nl1,1.5,16,16\n"),
    ("exponent", "t.csv", b"Layer,M,N,K\nl1,1e3,16,16\n"),
    ("underscore", "t.csv", b"Layer,M,N,K\nl1,1_6,16,16\n", "any"),
    ("plus-sign", "t.csv", b"Layer,M,N,K\nl1,+16,16,16\n", "any"),
    ("huge", "t.csv", b"Layer,M,N,K\nl1,99999999999999999999,16,16\n"),
    ("empty-name", "t.csv", b"Layer,M,N,K\n,16,16,16\n"),
    ("bad-header", "t.csv", b"a,b,c\n1,2,3\n"),
    ("binary", "t.csv", bytes(range(256)) * 4),
    ("latin1", "t.csv", "Layer,M,N,K\ncaf\xe9,16,16,16\n".encode("latin-1")),
    ("nul", "t.csv", b"Layer,M,N,K\nl1,16,16,16\x00\n"),
    ("quote", "t.csv", b'Layer,M,N,K\n"l1,16,16,16\n'),
    ("conv-extra", "t.csv", CONV_CSV.replace(b"conv1,8,8,3,3,2,4,1,", b"conv1,8,8,3,3,2,4,1,1,7,7")),
    ("conv-filter-big", "t.csv", CONV_CSV.replace(b"conv1,8,8,3,3", b"conv1,2,2,3,3")),
    ("conv-stride-zero", "t.csv", CONV_CSV.replace(b",4,1,", b",4,0,")),
    ("conv-arabic", "t.csv", CONV_CSV.replace(b"conv1,8", "conv1,٨".encode())),
    ("onnx-empty", "t.onnx", b""),
    ("onnx-garbage", "t.onnx", b"this is not a protobuf"),
    ("onnx-binary", "t.onnx", bytes(range(256)) * 8),
    ("txt-suffix", "t.txt", GEMM_CSV),
    ("csv-dir", "d.csv", None),
]


def _workloads(add) -> None:
    for name, fname, data, *expect in BAD_TOPOLOGIES:
        add(f"workload-{name}", ["workload", "show", fname], (expect or ["bad"])[0], files=((fname, data),))
    for name, fname, data, *_ in BAD_TOPOLOGIES[:12]:
        add(
            f"run-topology-{name}",
            ["run", "--arch", "small-8x8", "--topology", fname, "--out", "o"],
            "bad",
            files=((fname, data),),
        )
    add("workload-onnx-truncated", "workload show t.onnx", "bad", files=(("t.onnx", tiny_onnx()[:-7]),))
    add("workload-onnx-ok", "workload show t.onnx", "ok", files=(("t.onnx", tiny_onnx()),))
    add("workload-gemm-ok", "workload show t.csv", "ok", files=(("t.csv", GEMM_CSV),))
    add("workload-conv-ok", "workload show t.csv --format csv", "ok", files=(("t.csv", CONV_CSV),))
    add("workload-crlf-ok", "workload show t.csv", "ok", files=(("t.csv", GEMM_CSV.replace(b"\n", b"\r\n")),))
    add("workload-devnull", "workload show /dev/null", "bad")
    add("workload-devzero", "workload show z.csv", "bad", links=(("z.csv", "/dev/zero"),), isolate=True)
    add("workload-huge-csv", "workload show big.csv", "bad", files=(("big.csv", b"#" * (80 << 20)),))
    add("workload-zoo-ok", "workload show resnet18", "ok")
    add("workload-zoo-unknown", "workload show resnet51", "bad")
    add("workload-list", "workload list", "ok")
    for args in (
        "--batch 0",
        "--batch -1",
        "--batch x",
        "--batch 99999999999999999999999",
        "--seq-len 0",
        "--context -5",
        "--phase sideways",
    ):
        add(f"workload-param-{args.split()[0][2:]}-{args.split()[1]}", f"workload show gpt2 {args}", "bad")
    add("workload-file-with-batch", "workload show t.csv --batch 2", "bad", files=(("t.csv", GEMM_CSV),))
    add("workload-bert-decode", "workload show bert-base --phase decode", "bad")
    add("workload-huge-batch", "workload show resnet50 --batch 1000000000", "any")


def _run_base(out: str = "o", extra: str = "") -> list[str]:
    return ["run", "--arch", "small-8x8", "--topology", "net.csv", *extra.split(), "--out", out]


NET = (("net.csv", GEMM_CSV),)


def _run_outputs(add) -> None:
    """Output folders of ``systolic run``: nothing of the user's is lost, whatever --out names."""
    user = (("o/notes.txt", b"my notes\n"), ("o/sub/data.bin", b"\x00\x01"))
    add("out-new", _run_base(), "ok", files=NET, check=both(manifest_lists("o"), modes_follow_umask("o")))
    add("out-new-nested", _run_base("a/b/c"), "ok", files=NET)
    add("out-empty-dir", _run_base(), "ok", files=(*NET, ("o", None)))
    add("out-user-files", _run_base(), "any", files=(*NET, *user))
    add("out-user-summary", _run_base(), "bad", files=(*NET, ("o/summary.json", b'{"mine": 1}\n')))
    add("out-user-report", _run_base(), "bad", files=(*NET, ("o/report.html", b"<p>mine</p>\n")))
    add(
        "out-user-layer",
        _run_base(extra="--traces"),
        "bad",
        files=(*NET, ("o/layer0/IFMAP_SRAM_TRACE.csv", b"1\n")),
    )
    add("out-rerun", _run_base(), "ok", files=NET, prior=(tuple(_run_base()),), check=manifest_lists("o"))
    add(
        "out-rerun-with-user-file",
        _run_base(),
        "ok",
        files=(*NET, ("o/notes.txt", b"mine\n")),
        prior=(tuple(_run_base()),),
        check=manifest_lists("o", users=("notes.txt",)),
    )
    add("out-rerun-after-traces", _run_base(), "ok", files=NET, prior=(tuple(_run_base(extra="--traces")),))
    add("out-dot", _run_base("."), "bad", files=NET)
    add("out-dot-zoo", ["run", "--arch", "small-8x8", "--topology", "dlrm", "--out", "."], "any")
    add("out-is-file", _run_base("f"), "bad", files=(*NET, ("f", b"a file\n")))
    add("out-under-file", _run_base("f/o"), "bad", files=(*NET, ("f", b"a file\n")))
    add("out-readonly", _run_base("ro/o"), "bad", files=(*NET, ("ro", None)), readonly=("ro",), isolate=True)
    add(
        "out-readonly-self",
        _run_base("ro"),
        "bad",
        files=(*NET, ("ro", None)),
        readonly=("ro",),
        isolate=True,
    )
    add(
        "out-symlink-dir",
        _run_base("link"),
        "ok",
        files=(*NET, ("real", None), ("real/keep.txt", b"keep\n")),
        links=(("link", "real"),),
    )
    add("out-dangling-link", _run_base("link"), "any", files=NET, links=(("link", "gone"),))
    add("out-link-to-file", _run_base("link"), "bad", files=(*NET, ("f", b"x\n")), links=(("link", "f"),))
    add(
        "out-holds-inputs",
        ["run", "--arch", "d/x.toml", "--topology", "d/net.csv", "--out", "d"],
        "bad",
        files=(("d/x.toml", ARCH_TOML), ("d/net.csv", GEMM_CSV)),
    )
    add(
        "out-holds-inputs-dot",
        ["run", "--arch", "x.toml", "--topology", "net.csv", "--out", "."],
        "bad",
        files=(("x.toml", ARCH_TOML), *NET),
    )
    add("out-is-input", _run_base("net.csv"), "bad", files=NET)
    add(
        "out-holds-calibration",
        ["run", "--arch", "small-8x8", "--topology", "net.csv", "--calibration", "c/cal.json", "--out", "c"],
        "bad",
        files=(*NET, ("c/cal.json", calibration_bytes())),
    )
    add("out-trailing-slash", _run_base("o/"), "ok", files=NET)
    add("out-empty-string", _run_base(""), "bad", files=NET)
    add("out-devnull", _run_base("/dev/null"), "bad", files=NET)
    add("out-proc", _run_base("/proc/self/o"), "bad", files=NET)
    add("out-newline-name", _run_base("a\nb"), "any", files=NET)
    add("out-name-too-long", _run_base("x" * 300), "bad", files=NET)
    add("out-memory-only", _run_base(extra="--memory-only"), "ok", files=NET, check=manifest_lists("o"))
    add("out-absolute-paths", _run_base(), "ok", files=NET, check=no_absolute_paths)
    add(
        "out-calibration-path",
        ["run", "--arch", "small-8x8", "--topology", "net.csv", "--calibration", "cal.json", "--out", "o"],
        "ok",
        files=(*NET, ("cal.json", calibration_bytes())),
        check=no_absolute_paths,
    )
    add("out-traces-no-out", "run --arch small-8x8 --topology net.csv --traces", "bad", files=NET)
    for cmd in ("dvfs", "accuracy"):
        base = (
            ["dvfs", "--arch", "small-8x8", "--topology", "net.csv", "--deadline-ms", "1"]
            if cmd == "dvfs"
            else ["accuracy", "--network", "digits-cnn", "--arch", "analog-ternary", "--seeds", "1"]
        )
        deep = cmd == "accuracy"
        add(f"{cmd}-out-user-files", [*base, "--out", "o"], "any", files=(*NET, *user), deep=deep)
        add(f"{cmd}-out-is-file", [*base, "--out", "f"], "bad", files=(*NET, ("f", b"x\n")))
        add(f"{cmd}-out-under-file", [*base, "--out", "f/o"], "bad", files=(*NET, ("f", b"x\n")))
        add(f"{cmd}-out-dot", [*base, "--out", "."], "any", files=NET, deep=deep)
        add(
            f"{cmd}-out-readonly",
            [*base, "--out", "ro/o"],
            "bad",
            files=(*NET, ("ro", None)),
            readonly=("ro",),
            isolate=True,
        )
        add(
            f"{cmd}-out-symlink",
            [*base, "--out", "link"],
            "ok",
            files=(*NET, ("real", None)),
            links=(("link", "real"),),
            deep=deep,
        )
    add(
        "dvfs-out-is-input",
        ["dvfs", "--arch", "small-8x8", "--topology", "net.csv", "--deadline-ms", "1", "--out", "."],
        "bad",
        files=NET,
    )


def _run_options(add) -> None:
    base = "run --arch small-8x8 --topology net.csv"
    for i, (opt, expect) in enumerate(
        [
            ("--zero-frac nan", "bad"),
            ("--zero-frac 2", "bad"),
            ("--zero-frac -0.1", "bad"),
            ("--zero-frac inf", "bad"),
            ("--zero-frac 0.5", "ok"),
            ("--deadline-ms 0 --policy deadline", "bad"),
            ("--deadline-ms -1 --policy deadline", "bad"),
            ("--deadline-ms nan --policy deadline", "bad"),
            ("--deadline-ms inf --policy deadline", "bad"),
            ("--deadline-ms 1e-9 --policy deadline", "bad"),
            ("--deadline-ms 1", "bad"),
            ("--policy fastest", "bad"),
            ("--policy race", "ok"),
            ("--temp-limit-c 0", "bad"),
            ("--temp-limit-c -300", "bad"),
            ("--temp-limit-c nan", "bad"),
            ("--temp-limit-c 20", "bad"),
            ("--temp-limit-c 1e9", "bad"),
            ("--temp-limit-c 90", "ok"),
            ("--temp-limit-c 90 --no-thermal", "bad"),
            ("--interval 0us", "bad"),
            ("--interval -5us", "bad"),
            ("--interval 1e9s", "bad"),
            ("--interval 10 parsecs", "bad"),
            ("--interval 10", "bad"),
            ("--interval nanus", "bad"),
            ("--interval infs", "bad"),
            ("--interval 1cycles", "any"),
            ("--interval 100cycles", "ok"),
            ("--interval 1ns", "any"),
            ("--memory-only --policy race", "bad"),
            ("--calibration missing.json", "bad"),
            ("--calibration d", "bad"),
            ("--calibration net.csv", "bad"),
            ("--calibration /dev/zero", "bad"),
            ("--batch 2", "bad"),
            ("--traces", "bad"),
        ]
    ):
        files = (*NET, ("d", None))
        iso = "/dev/zero" in opt
        add(f"run-opt-{i:02d}", f"{base} {opt}", expect, files=files, isolate=iso)
    add("run-zoo-ok", "run --arch small-8x8 --topology alexnet", "ok")
    add("run-onnx-ok", "run --arch small-8x8 --topology t.onnx", "ok", files=(("t.onnx", tiny_onnx()),))
    add(
        "run-cfg-ok",
        "run --arch a.cfg --topology net.csv --memory-only",
        "ok",
        files=(*NET, ("a.cfg", ARCH_CFG)),
    )
    add("run-traces-ok", _run_base(extra="--traces"), "ok", files=NET)
    # resource blow-ups: refused up front with the estimate
    big = b"Layer,M,N,K\nhuge,100000,100000,100000\n"
    add(
        "run-traces-huge",
        "run --arch small-8x8 --topology big.csv --traces --out o",
        "bad",
        files=(("big.csv", big),),
        isolate=True,
    )
    add(
        "run-traces-huge-tpu",
        "run --arch tpu-v1-128 --topology big.csv --traces --out o",
        "bad",
        files=(("big.csv", big),),
        isolate=True,
    )
    add(
        "run-interval-1cycle-tpu",
        "run --arch tpu-v1-128 --topology resnet50 --interval 1cycles",
        "bad",
        isolate=True,
    )
    add(
        "run-interval-1cycle-small",
        "run --arch small-8x8 --topology resnet50 --interval 1cycles",
        "bad",
        isolate=True,
    )
    add("run-huge-batch", "run --arch small-8x8 --topology resnet50 --batch 1000000000", "bad", isolate=True)
    add(
        "run-huge-gemm",
        "run --arch small-8x8 --topology big.csv",
        "bad",
        files=(("big.csv", big),),
        isolate=True,
    )
    add(
        "run-huge-gemm-memonly",
        "run --arch small-8x8 --topology big.csv --memory-only",
        "bad",
        files=(("big.csv", big),),
        isolate=True,
    )
    add(
        "run-max-dims",
        "run --arch tpu-v1-128 --topology max.csv --memory-only",
        "bad",
        files=(("max.csv", b"Layer,M,N,K\nx,1099511627776,1099511627776,1099511627776\n"),),
        isolate=True,
    )
    add(
        "run-llm-decode",
        "run --arch tpu-v1-128 --topology llama2-7b --phase decode --batch 16",
        "ok",
        deep=True,
    )
    add(
        "run-big-array",
        "run --arch small-8x8 --set rows=4096 --set cols=4096 --topology net.csv",
        "any",
        files=NET,
        isolate=True,
    )


def _dvfs(add) -> None:
    base = "dvfs --arch small-8x8 --topology net.csv"
    for i, (opt, expect) in enumerate(
        [
            ("--deadline-ms 1", "ok"),
            ("", "bad"),
            ("--deadline-ms 0", "bad"),
            ("--deadline-ms -1", "bad"),
            ("--deadline-ms nan", "bad"),
            ("--deadline-ms inf", "bad"),
            ("--deadline-ms 1e-12", "bad"),
            ("--deadline-ms 1e300", "any"),
            ("--deadline-ms 1 --policy slow", "bad"),
            ("--deadline-ms 1 --temperature-k 0", "bad"),
            ("--deadline-ms 1 --temperature-k nan", "bad"),
            ("--deadline-ms 1 --temperature-k 1e6", "bad"),
            ("--deadline-ms 1 --interval 0us", "bad"),
            ("--deadline-ms 1 --interval 1e9s", "bad"),
            ("--deadline-ms 1 --interval 1cycles", "any"),
            ("--deadline-ms 1 --energy magic", "bad"),
            ("--deadline-ms 1 --energy default", "ok"),
            ("--deadline-ms 1 --policy race", "ok"),
            ("--deadline-ms 1 --policy none", "ok"),
            ("--deadline-ms 1 --batch 3", "bad"),
        ]
    ):
        add(
            f"dvfs-opt-{i:02d}",
            f"{base} {opt}",
            expect,
            files=NET,
            isolate="1cycles" in opt,
            deep="1cycles" in opt,
        )
    add(
        "dvfs-interval-1cycle-tpu",
        "dvfs --arch tpu-v1-128 --topology resnet50 --deadline-ms 4.5 --interval 1cycles",
        "bad",
        isolate=True,
    )
    add(
        "dvfs-huge-deadline-intervals",
        "dvfs --arch small-8x8 --topology net.csv --deadline-ms 1e6 --interval 1ns",
        "bad",
        files=NET,
        isolate=True,
    )


THERMAL = (("a.flp", FLP), ("a.ptrace", PTRACE))


def _thermal(add) -> None:
    base = ["thermal", "-f", "a.flp", "-p", "a.ptrace"]

    def t(name, extra, expect, files=THERMAL, **kw):
        args = extra.split() if isinstance(extra, str) else extra
        add(f"thermal-{name}", [*base, *args], expect, files=files, **kw)

    t("steady-ok", "", "ok")
    t("transient-ok", "-o a.ttrace", "ok")
    t("grid-ok", "-model_type grid -grid_rows 16 -grid_cols 16 -o a.ttrace", "ok")
    t("o-is-ptrace", "-o a.ptrace", "bad")
    t("o-is-flp", "-o a.flp", "bad")
    t("steady-is-ptrace", "-steady_file a.ptrace", "bad")
    t("steady-is-flp", "-steady_file a.flp", "bad")
    t("png-is-flp", "--png a.flp", "bad")
    t("write-flp-is-ptrace", "--write-flp a.ptrace", "bad")
    t("o-and-steady-same", "-o x.out -steady_file x.out", "bad")
    t("o-dir", "-o d", "bad", files=(*THERMAL, ("d", None)))
    t("png-dir", "--png d", "bad", files=(*THERMAL, ("d", None)))
    t("steady-dir", "-steady_file d", "bad", files=(*THERMAL, ("d", None)))
    t("o-under-file", "-o a.flp/x", "bad")
    t("o-readonly", "-o ro/x.ttrace", "bad", files=(*THERMAL, ("ro", None)), readonly=("ro",), isolate=True)
    t(
        "o-existing-ok",
        "-o old.ttrace",
        "ok",
        files=(*THERMAL, ("old.ttrace", b"old\n")),
        outputs=("old.ttrace",),
    )
    t(
        "o-symlink",
        "-o l.ttrace",
        "ok",
        files=(*THERMAL, ("real.ttrace", b"")),
        links=(("l.ttrace", "real.ttrace"),),
        outputs=("real.ttrace",),
    )
    t(
        "d-is-config",
        ["-c", "h.config", "-d", "h.config"],
        "bad",
        files=(*THERMAL, ("h.config", HOTSPOT_CONFIG)),
    )
    t("config-ok", ["-c", "h.config"], "ok", files=(*THERMAL, ("h.config", HOTSPOT_CONFIG)))
    # nonsense physics
    t("init-temp-neg", "-init_temp -1 -o x.ttrace", "bad")
    t("init-temp-zero", "-init_temp 0 -o x.ttrace", "bad")
    t("ambient-zero", "-ambient 0", "bad")
    t("ambient-neg", "-ambient -5", "bad")
    t("ambient-huge", "-ambient 1e300", "bad")
    t("sampling-zero", "-sampling_intvl 0 -o x.ttrace", "bad")
    t("sampling-neg", "-sampling_intvl -1 -o x.ttrace", "bad")
    t("sampling-nan", "-sampling_intvl nan -o x.ttrace", "bad")
    t("sampling-huge", "-sampling_intvl 1e300 -o x.ttrace", "any")
    t("t-chip-tiny", "-t_chip 1e-300", "any")
    t("k-chip-huge", "-k_chip 1e300", "any")
    t("r-convec-tiny", "-r_convec 1e-300", "any")
    t("model-type-bad", "-model_type mesh", "bad")
    t("grid-rows-zero", "-model_type grid -grid_rows 0", "bad")
    t("grid-rows-neg", "-model_type grid -grid_rows -4", "bad")
    t("grid-rows-float", "-model_type grid -grid_rows 1.5", "bad")
    t("grid-rows-text", "-model_type grid -grid_rows many", "bad")
    t("grid-5000", "-model_type grid -grid_rows 5000 -grid_cols 5000", "bad", isolate=True)
    t("grid-100000", "-model_type grid -grid_rows 100000 -grid_cols 100000", "bad", isolate=True)
    # a valid 100,000-cell strip within the budgets: about a minute on a loaded core
    t(
        "grid-1x100000",
        "-model_type grid -grid_rows 1 -grid_cols 100000",
        "any",
        isolate=True,
        deep=True,
        timeout_s=600,
    )
    t("grid-map-bad", "-model_type grid -grid_map_mode mean", "bad")
    t("unknown-key", "-frobnicate 3", "bad")
    t("key-no-value", "-ambient", "bad")
    t("integrator-bad", "--integrator rk4", "bad")
    t("leakage-mode-1", "-leakage_used 1 -leakage_mode 1", "bad")
    t("microchannels", "-use_microchannels 1", "bad")
    # bad floorplans and traces
    flps = {
        "tiny-blocks": b"a 1e-300 1e-300 0 0\n",
        "huge-blocks": b"a 1e300 1e300 0 0\n",
        "zero-width": b"a 0 0.01 0 0\n",
        "far-x": b"a 0.01 0.01 -2 0\n",
        "nan": b"a nan 0.01 0 0\n",
        "overlap": b"a 0.01 0.01 0 0\nb 0.01 0.01 0.005 0\n",
        "gap": b"a 0.01 0.01 0 0\nb 0.01 0.01 0.02 0\n",
        "dup-name": b"a 0.01 0.01 0 0\nA 0.01 0.01 0.01 0\n",
        "empty": b"",
        "fields": b"a 0.01 0.01 0\n",
        "text": b"a w h x y\n",
        "arabic": "a ٠.01 0.01 0 0\n".encode(),
    }
    for name, data in flps.items():
        t(f"flp-{name}", "", "bad", files=(("a.flp", data), ("a.ptrace", b"a\n1\n")))
    n = 20000
    many = b"".join(b"b%d %.12g 0.01 %.12g 0\n" % (i, 1e-6, i * 1e-6) for i in range(n))
    many_trace = b"\t".join(b"b%d" % i for i in range(n)) + b"\n" + b"\t".join([b"0.001"] * n) + b"\n"
    t("flp-many-blocks", "", "bad", files=(("a.flp", many), ("a.ptrace", many_trace)), isolate=True)
    traces = {
        "huge-power": PTRACE.replace(b"1.0\t2.0", b"1e308\t1e308"),
        "inf-power": PTRACE.replace(b"1.0\t2.0", b"inf\t2.0"),
        "nan-power": PTRACE.replace(b"1.0\t2.0", b"nan\t2.0"),
        "neg-power": PTRACE.replace(b"1.0\t2.0", b"-1.0\t2.0"),
        "empty": b"",
        "header-only": b"a\tb\tc\td\n",
        "short-row": PTRACE + b"1\t2\n",
        "unknown-block": PTRACE.replace(b"a\tb", b"z\tb"),
        "dup-block": PTRACE.replace(b"a\tb", b"a\ta"),
        "numeric-header": b"1\t2\t3\t4\n1\t1\t1\t1\n",
        "arabic": PTRACE.replace(b"0.5\t0.5\t0.5\t0.5", "٠.5\t0.5\t0.5\t0.5".encode()),
        "binary": bytes(range(256)),
    }
    for name, data in traces.items():
        t(f"ptrace-{name}", "-o x.ttrace", "bad", files=(("a.flp", FLP), ("a.ptrace", data)))
    t("ptrace-devzero", "", "bad", files=(("a.flp", FLP),), links=(("a.ptrace", "/dev/zero"),), isolate=True)
    t("ptrace-missing", "", "bad", files=(("a.flp", FLP),))
    t("init-file-missing", "-init_file nope.init -o x.ttrace", "bad")
    t("init-file-garbage", "-init_file g.init -o x.ttrace", "bad", files=(*THERMAL, ("g.init", b"garbage\n")))
    t("config-garbage", ["-c", "g.config"], "bad", files=(*THERMAL, ("g.config", b"hello world\n")))
    t("config-binary", ["-c", "g.config"], "bad", files=(*THERMAL, ("g.config", bytes(range(256)))))
    t(
        "materials-garbage",
        ["-materials_file", "m.txt", "-material_chip", "x"],
        "bad",
        files=(*THERMAL, ("m.txt", b"x\nplasma\n")),
    )
    t(
        "lcf-no-grid",
        ["-grid_layer_file", "l.lcf"],
        "bad",
        files=(*THERMAL, ("l.lcf", b"0\nY\nY\n1.75e6\n0.01\n0.00015\na.flp\n")),
    )
    t(
        "lcf-garbage",
        ["-model_type", "grid", "-grid_layer_file", "l.lcf"],
        "bad",
        files=(*THERMAL, ("l.lcf", b"zero\n")),
    )
    # floorplans from an architecture
    add(
        "thermal-arch-tile-huge",
        "thermal --arch small-8x8 --set rows=4096 --set cols=4096 --tile 1x1 --write-flp x.flp",
        "bad",
        isolate=True,
    )
    add(
        "thermal-arch-tile-big", "thermal --arch tpu-v1-128 --tile 1x1 --write-flp x.flp", "any", isolate=True
    )
    add("thermal-arch-ok", "thermal --arch small-8x8 --write-flp x.flp", "ok")
    add("thermal-arch-tile-zero", "thermal --arch small-8x8 --tile 0x0 --write-flp x.flp", "bad")
    add("thermal-arch-tile-neg", "thermal --arch small-8x8 --tile -1x2 --write-flp x.flp", "bad")
    add("thermal-arch-tile-text", "thermal --arch small-8x8 --tile axb --write-flp x.flp", "bad")
    add(
        "thermal-arch-tile-arabic",
        ["thermal", "--arch", "small-8x8", "--tile", "٤x4", "--write-flp", "x.flp"],
        "bad",
    )
    add("thermal-arch-and-flp", "thermal --arch small-8x8 -f a.flp -p a.ptrace", "bad", files=THERMAL)
    add("thermal-tile-no-arch", "thermal --tile 2x2 -f a.flp -p a.ptrace", "bad", files=THERMAL)
    add("thermal-no-flp", "thermal -p a.ptrace", "bad", files=THERMAL)
    add("thermal-no-ptrace", "thermal -f a.flp", "bad", files=THERMAL)
    add("thermal-write-flp-dir", "thermal --arch small-8x8 --write-flp d", "bad", files=(("d", None),))


def _hdl(add) -> None:
    add("hdl-ok", "hdl --arch small-8x8 --set rows=2 --set cols=2 -o x.v", "ok", deep=True)
    add("hdl-o-dir", "hdl --arch small-8x8 -o d", "bad", files=(("d", None),))
    add("hdl-o-under-file", "hdl --arch small-8x8 -o f/x.v", "bad", files=(("f", b"x\n"),))
    add(
        "hdl-o-readonly",
        "hdl --arch small-8x8 -o ro/x.v",
        "bad",
        files=(("ro", None),),
        readonly=("ro",),
        isolate=True,
    )
    add("hdl-o-is-arch", "hdl --arch a.toml -o a.toml", "bad", files=(("a.toml", ARCH_TOML),))
    add("hdl-vlt-is-arch", "hdl --arch a.vlt -o a.v", "bad", files=(("a.vlt", ARCH_TOML),))
    add("hdl-vlt-is-arch-toml", "hdl --arch a.toml -o a.v", "any", files=(("a.toml", ARCH_TOML),), deep=True)
    add("hdl-huge", "hdl --arch small-8x8 --set rows=4096 --set cols=4096 -o x.v", "bad", isolate=True)
    add("hdl-big", "hdl --arch small-8x8 --set rows=512 --set cols=512 -o x.v", "bad", isolate=True)
    add("hdl-o-empty", ["hdl", "--arch", "small-8x8", "-o", ""], "bad")
    add("hdl-no-o", "hdl --arch small-8x8", "bad")


def _cosim(add) -> None:
    base = "cosim --arch small-8x8"
    for i, (opt, expect) in enumerate(
        [
            ("--gemm -1,4,4", "bad"),
            ("--gemm=-1,4,4", "bad"),
            ("--gemm 0,4,4", "bad"),
            ("--gemm 4,4", "bad"),
            ("--gemm a,b,c", "bad"),
            ("--gemm 65536,4,4", "bad"),
            ("--gemm ٤,4,4", "bad"),
            ("--gemm 4,4,4 --jobs 0", "bad"),
            ("--gemm 4,4,4 --jobs -3", "bad"),
            ("--gemm 4,4,4 --seed=-1", "bad"),
            ("--gemm 4,4,4 --seed 99999999999999999999999", "bad"),
            ("--gemm 4,4,4 --sim modelsim", "bad"),
            ("--conv 1,1,3,3,1,1", "bad"),
            ("--conv 8,8,3,3,2,4,0", "bad"),
            ("--conv 8,8,3,3,2,4,1,-1", "bad"),
            ("--conv a", "bad"),
            ("--topology-layer resnet18", "bad"),
            ("--topology-layer resnet18:nosuch", "bad"),
            ("--topology-layer nosuch:0", "bad"),
            ("--topology-layer resnet18:99", "bad"),
            ("--topology-layer resnet18:-1", "bad"),
            ("--matrix default --jobs 0", "bad"),
            ("--matrix other", "bad"),
            ("--gemm 4,4,4 --gemm 5,5,5", "any"),
            ("--gemm 65535,65535,65535", "bad"),
        ]
    ):
        runs = expect != "bad"  # a valid command line starts a simulator: the deep tier only
        add(
            f"cosim-opt-{i:02d}",
            base.split() + opt.split(),
            expect,
            timeout_s=120,
            isolate="65535" in opt,
            deep=runs,
        )
    add("cosim-no-arch", "cosim --gemm 4,4,4", "bad")
    add(
        "cosim-build-dir-file",
        "cosim --arch small-8x8 --gemm 4,4,4 --build-dir f",
        "bad",
        files=(("f", b"x\n"),),
    )
    add(
        "cosim-build-dir-under-file",
        "cosim --arch small-8x8 --gemm 4,4,4 --build-dir f/b",
        "bad",
        files=(("f", b"x\n"),),
    )
    add("cosim-json-dir", "cosim --arch small-8x8 --gemm 4,4,4 --json d", "bad", files=(("d", None),))
    add(
        "cosim-json-under-file",
        "cosim --arch small-8x8 --gemm 4,4,4 --json f/x.json",
        "bad",
        files=(("f", b"x\n"),),
    )
    add(
        "cosim-json-is-arch",
        "cosim --arch a.toml --gemm 4,4,4 --json a.toml",
        "bad",
        files=(("a.toml", ARCH_TOML),),
    )
    add(
        "cosim-json-readonly",
        "cosim --arch small-8x8 --gemm 4,4,4 --json ro/x.json",
        "bad",
        files=(("ro", None),),
        readonly=("ro",),
        isolate=True,
    )
    npy = _npy(4, 3)
    two = (("a.npy", npy), ("b.npy", npy))
    add(
        "cosim-operands-json-is-operand",
        "cosim --arch small-8x8 --operands a.npy,b.npy --json a.npy",
        "bad",
        files=two,
    )
    add("cosim-operands-missing", "cosim --arch small-8x8 --operands a.npy,nope.npy", "bad", files=two[:1])
    add(
        "cosim-operands-garbage",
        "cosim --arch small-8x8 --operands a.npy,b.npy",
        "bad",
        files=(("a.npy", b"not npy"), two[1]),
    )
    add("cosim-operands-one", "cosim --arch small-8x8 --operands a.npy", "bad", files=two[:1])
    add(
        "cosim-operands-float",
        "cosim --arch small-8x8 --operands a.npy,b.npy",
        "bad",
        files=(("a.npy", _npy(4, 3, float)), two[1]),
    )
    add(
        "cosim-operands-devzero",
        "cosim --arch small-8x8 --operands z.npy,z.npy",
        "bad",
        links=(("z.npy", "/dev/zero"),),
        isolate=True,
    )
    add(
        "run-sample-input-csv",
        "run --arch small-8x8 --topology net.csv --sample-input a.npy",
        "bad",
        files=(*NET, two[0]),
    )
    add(
        "cosim-ok",
        "cosim --arch small-8x8 --set rows=2 --set cols=2 --gemm 3,3,3 --json r.json",
        "ok",
        deep=True,
        timeout_s=300,
    )


def _sweep(add) -> None:
    spec = (("s.toml", SWEEP_SPEC), *NET)
    add(
        "sweep-ok",
        "sweep s.toml --out o --workers 1 --quiet",
        "ok",
        files=spec,
        deep=True,
        timeout_s=300,
        check=manifest_lists("o"),
    )
    add(
        "sweep-scheduler-not-url",
        ["sweep", "s.toml", "--scheduler", "not a url", "--quiet"],
        "bad",
        files=spec,
    )
    add("sweep-scheduler-scheme", "sweep s.toml --scheduler foo://bar:1 --quiet", "bad", files=spec)
    add("sweep-scheduler-empty", ["sweep", "s.toml", "--scheduler", "", "--quiet"], "bad", files=spec)
    add("sweep-scheduler-port", "sweep s.toml --scheduler tcp://127.0.0.1:99999 --quiet", "bad", files=spec)
    add("sweep-out-file", "sweep s.toml --out f --quiet", "bad", files=(*spec, ("f", b"x\n")))
    add("sweep-out-under-file", "sweep s.toml --out f/o --quiet", "bad", files=(*spec, ("f", b"x\n")))
    add(
        "sweep-out-user-dir", "sweep s.toml --out o --quiet", "any", files=(*spec, ("o/notes.txt", b"mine\n"))
    )
    add("sweep-out-dot", "sweep s.toml --out . --quiet", "bad", files=spec)
    add("sweep-out-is-spec", "sweep s.toml --out s.toml --quiet", "bad", files=spec)
    add(
        "sweep-out-readonly",
        "sweep s.toml --out ro/o --quiet",
        "bad",
        files=(*spec, ("ro", None)),
        readonly=("ro",),
        isolate=True,
    )
    add("sweep-workers-zero", "sweep s.toml --workers 0 --quiet", "bad", files=spec)
    add("sweep-workers-neg", "sweep s.toml --workers -1 --quiet", "bad", files=spec)
    add("sweep-workers-huge", "sweep s.toml --workers 100000 --quiet", "bad", files=spec)
    add(
        "sweep-corrupt-part",
        "sweep s.toml --out o --workers 1 --quiet",
        "ok",
        files=spec,
        prior=(("sweep", "s.toml", "--out", "o", "--workers", "1", "--quiet"),),
        after_prior=(("o/parts/part-00000.parquet", b"not parquet"),),
        deep=True,
        timeout_s=300,
    )
    specs = {
        "empty": b"",
        "comment": b"# nothing\n",
        "garbage": b"this is = not toml [",
        "binary": bytes(range(256)),
        "no-space": b'base = "small-8x8"\nnetworks = ["alexnet"]\n',
        "empty-space": b'base = "small-8x8"\nnetworks = ["alexnet"]\n[space]\n',
        "bad-field": b'base = "small-8x8"\nnetworks = ["alexnet"]\n[space]\nrowz = [4]\n',
        "bad-value": b'base = "small-8x8"\nnetworks = ["alexnet"]\n[space]\nrows = [0]\n',
        "arabic-value": 'base = "small-8x8"\nnetworks = ["alexnet"]\n[space]\nrows = ["٤"]\n'.encode(),
        "no-networks": b'base = "small-8x8"\n[space]\nrows = [4]\n',
        "missing-network": b'base = "small-8x8"\nnetworks = ["nope.csv"]\n[space]\nrows = [4]\n',
        "missing-base": b'base = "nope.toml"\nnetworks = ["alexnet"]\n[space]\nrows = [4]\n',
        "huge-grid": b'base = "small-8x8"\nnetworks = ["alexnet"]\n[space]\nrows = ['
        + b",".join(b"%d" % i for i in range(1, 4097))
        + b"]\ncols = ["
        + b",".join(b"%d" % i for i in range(1, 4097))
        + b"]\n",
        "huge-samples": b'base = "small-8x8"\nnetworks = ["resnet50"]\nmode = "random"\nsamples = 10000000\n[space]\nrows = [4, 8]\n',
        "random-no-samples": b'base = "small-8x8"\nnetworks = ["alexnet"]\nmode = "random"\n[space]\nrows = [4]\n',
        "range-in-grid": b'base = "small-8x8"\nnetworks = ["alexnet"]\n[space]\nrows = {min = 1, max = 8}\n',
        "range-nan": b'base = "small-8x8"\nnetworks = ["alexnet"]\nmode = "random"\nsamples = 5\n[space]\nvdd_v = {min = nan, max = 1.0}\n',
        "range-inf": b'base = "small-8x8"\nnetworks = ["alexnet"]\nmode = "random"\nsamples = 5\n[space]\nvdd_v = {min = 0.5, max = inf}\n',
        "batch-zero": b'base = "small-8x8"\nnetworks = ["alexnet"]\nbatch = 0\n[space]\nrows = [4]\n',
        "seed-neg": b'base = "small-8x8"\nnetworks = ["alexnet"]\nmode = "random"\nsamples = 3\nseed = -1\n[space]\nrows = [4]\n',
        "calibration-missing": b'base = "small-8x8"\nnetworks = ["alexnet"]\ncalibration = "nope.json"\n[space]\nrows = [4]\n',
        "unknown-key": b'base = "small-8x8"\nnetworks = ["alexnet"]\nfoo = 1\n[space]\nrows = [4]\n',
    }
    for name, data in specs.items():
        add(
            f"sweep-spec-{name}",
            "sweep s.toml --out o --quiet",
            "bad",
            files=(("s.toml", data),),
            isolate=name.startswith("huge"),
        )
    add("sweep-spec-missing", "sweep nope.toml --quiet", "bad")
    add("sweep-spec-dir", "sweep d --quiet", "bad", files=(("d", None),))
    add("sweep-spec-devzero", "sweep z.toml --quiet", "bad", links=(("z.toml", "/dev/zero"),), isolate=True)
    add(
        "sweep-other-spec-same-out",
        "sweep s2.toml --out o --workers 1 --quiet",
        "bad",
        files=(*spec, ("s2.toml", SWEEP_SPEC.replace(b"[4, 8]", b"[4]"))),
        prior=(("sweep", "s.toml", "--out", "o", "--workers", "1", "--quiet"),),
        deep=True,
        timeout_s=300,
    )


def _calibrate_accuracy(add) -> None:
    add("calibrate-show-ok", "calibrate --show", "ok")
    add("calibrate-show-file-ok", "calibrate --show c.json", "ok", files=(("c.json", calibration_bytes()),))
    add("calibrate-show-missing", "calibrate --show nope.json", "bad")
    add("calibrate-show-dir", "calibrate --show d", "bad", files=(("d", None),))
    add("calibrate-show-garbage", "calibrate --show g.json", "bad", files=(("g.json", b"{not json"),))
    add("calibrate-show-wrong-json", "calibrate --show g.json", "bad", files=(("g.json", b"[1, 2, 3]\n"),))
    add("calibrate-show-empty-obj", "calibrate --show g.json", "bad", files=(("g.json", b"{}\n"),))
    add(
        "calibrate-show-devzero",
        "calibrate --show z.json",
        "bad",
        links=(("z.json", "/dev/zero"),),
        isolate=True,
    )
    add("calibrate-shapes-one", "calibrate --shapes 1", "bad")
    add("calibrate-shapes-neg", "calibrate --shapes -4", "bad")
    add("calibrate-out-dir", "calibrate -o d", "bad", files=(("d", None),))
    add("calibrate-out-under-file", "calibrate -o f/c.json", "bad", files=(("f", b"x\n"),))
    add("calibrate-build-file", "calibrate --build f", "bad", files=(("f", b"x\n"),))
    add("calibrate-seed-neg", "calibrate --seed=-1", "bad")
    acc = "accuracy --network digits-cnn --arch analog-ternary"
    for i, (opt, expect) in enumerate(
        [
            ("--noise a,b", "bad"),
            ("--noise nan", "bad"),
            ("--noise -0.1", "bad"),
            ("--noise 1e300", "bad"),
            ("--noise ''", "bad"),
            ("--adc-bits 0", "bad"),
            ("--adc-bits 2.5", "bad"),
            ("--adc-bits 99", "bad"),
            ("--seeds 0", "bad"),
            ("--seeds -1", "bad"),
            ("--seeds 1000000000", "bad"),
            ("--set read_sigma=-1", "bad"),
            ("--set read_sigma=nan", "bad"),
            ("--set nosuch=1", "bad"),
            ("--set cell_bits=٤", "bad"),
            ("--noise-kind thermal", "bad"),
        ]
    ):
        add(f"accuracy-opt-{i:02d}", f"{acc} {opt}", expect, isolate="1000000000" in opt)
    add("accuracy-network-unknown", "accuracy --network lenet --arch analog-ternary", "bad")
    add("accuracy-arch-digital", "accuracy --network digits-cnn --arch small-8x8", "bad")
    add("accuracy-arch-empty", "accuracy --network digits-cnn --arch a.toml", "bad", files=(("a.toml", b""),))
    add(
        "accuracy-ok", f"{acc} --noise 0,0.1 --adc-bits 6,7 --seeds 1 --out o", "ok", deep=True, timeout_s=300
    )


def _llm(add) -> None:
    infer = "llm infer --model gpt2 --system dgx-h100"
    train = "llm train --model gpt2 --system dgx-h100"
    model = b'[model]\nname = "m"\nlayers = 2\nhidden = 64\nheads = 4\nffn_hidden = 256\nvocab = 100\n'
    add("llm-infer-ok", infer, "ok")
    add("llm-infer-json-ok", f"{infer} --json r.json", "ok", check=no_absolute_paths)
    add("llm-train-search-ok", f"{train} --search", "ok")
    add("llm-validate", "llm validate", "any")
    add("llm-json-dir", f"{infer} --json d", "bad", files=(("d", None),))
    add("llm-json-under-file", f"{infer} --json f/r.json", "bad", files=(("f", b"x\n"),))
    add(
        "llm-json-is-model",
        "llm infer --model m.toml --system dgx-h100 --json m.toml",
        "bad",
        files=(("m.toml", model),),
    )
    add(
        "llm-json-readonly",
        f"{infer} --json ro/r.json",
        "bad",
        files=(("ro", None),),
        readonly=("ro",),
        isolate=True,
    )
    add("llm-validate-json-dir", "llm validate --json d", "bad", files=(("d", None),))
    add("llm-model-file-ok", "llm infer --model m.toml --system dgx-h100", "any", files=(("m.toml", model),))
    add(
        "llm-huge-devices-search",
        "llm train --model gpt3-175b --system dgx-a100-selene --devices 1099511627776 --search",
        "any",
        isolate=True,
    )
    for i, (opt, expect) in enumerate(
        [
            ("--devices 0", "bad"),
            ("--devices -1", "bad"),
            ("--devices ٤", "bad"),
            ("--batch 0", "bad"),
            ("--mb -1", "bad"),
            ("--vpp 0", "bad"),
            ("--zero 4", "bad"),
            ("--logic-nm nan", "bad"),
            ("--logic-nm 0", "bad"),
            ("--memory hbm9", "bad"),
            ("--memory hbm3 --memory-stacks 0", "bad"),
            ("--precision fp3", "bad"),
            ("--search --tp 2", "bad"),
            ("--intra-link nvlink99", "bad"),
            ("--seq-len 0", "bad"),
            ("--tp 5", "bad"),
        ]
    ):
        add(f"llm-train-opt-{i:02d}", f"{train} {opt}", expect)
    for i, (argv, files) in enumerate(
        [
            ("llm infer --model nope --system dgx-h100", ()),
            ("llm infer --model gpt2 --system nope", ()),
            ("llm infer --model /dev/null --system dgx-h100", ()),
            ("llm infer --model gpt2 --system z.toml", ()),
            ("llm infer --model m.toml --system dgx-h100", (("m.toml", b"[model]\nname = 3\n"),)),
            (
                "llm infer --model m.toml --system dgx-h100",
                (("m.toml", model.replace(b"heads = 4", b"heads = 0")),),
            ),
            (
                "llm infer --model m.toml --system dgx-h100",
                (("m.toml", model.replace(b"heads = 4", b'heads = "4"')),),
            ),
            ("llm validate --data g.toml", (("g.toml", b"garbage ["),)),
            ("llm validate --data /dev/zero", ()),
            ("llm infer --model gpt2 --system dgx-h100 --batch 0", ()),
            ("llm infer --model gpt2 --system dgx-h100 --output-len 0", ()),
            ("llm infer --model gpt2 --system dgx-h100 --prompt-len -3", ()),
        ]
    ):
        links = (("z.toml", "/dev/zero"),) if "z.toml" in argv else ()
        add(f"llm-bad-{i:02d}", argv, "bad", files=files, links=links, isolate=bool(links))


@cache
def curated() -> tuple[Case, ...]:
    cases = _cases()
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate case names: {sorted(dup)}"
    return tuple(cases)


def corpus(generated: int = 200) -> list[Case]:
    """The curated cases and ``generated`` cases drawn (deterministically) from the hypothesis strategies."""
    from .strategies import drawn_cases

    return [*curated(), *drawn_cases(generated)]
