"""Accuracy of a quantized network on the digital array and on a noisy analog core, with the energy it costs.

:func:`evaluate` chains the model's pieces for ``systolic accuracy``: the float network, the integer
network on the digital array (:func:`~systolic.model.functional.digital_gemm`, bit-exact with the RTL),
the same integer network on an analog core (:func:`~systolic.model.functional.analog_gemm`) at the
configured noise, over a sweep of noise levels and over ADC resolutions; beside them the energy per
inference of the analog core (:mod:`systolic.model.analog`) and of the digital array's PEs at the same
node and precision. Data: scikit-learn's bundled 8 x 8 digits (1,797 images, no download), split once
by a fixed permutation into 1,347 training and 450 held-out images.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from systolic.analog_config import AnalogConfig
from systolic.errors import InputError
from systolic.model import qnet
from systolic.model.analog import analog_layers, digital_pj_per_mac
from systolic.model.cycles import GemmArrays
from systolic.model.functional import analog_gemm, digital_gemm, program_weights

#: Networks ``--network`` knows: name -> the shipped trained weights in ``configs/``.
NETWORKS: dict[str, str] = {"digits-cnn": "digits-cnn.npz"}
#: Held-out images of the split.
TEST_IMAGES = 450
SPLIT_SEED = 0
NOISE_KINDS = ("program", "read")


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_pixels, train_labels, test_pixels, test_labels)``; pixels ``[B, 8, 8, 1]`` (0..16)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.images.reshape(-1, qnet.IMAGE_HW, qnet.IMAGE_HW, 1)
    y = data.target.astype(np.int64)
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    test, train = perm[:TEST_IMAGES], perm[TEST_IMAGES:]
    return x[train], y[train], x[test], y[test]


# --------------------------------------------------------------------------- trained networks on disk


def save_trained(path: str | Path, trained: qnet.Trained) -> None:
    """Write a trained network as ``.npz``: integer weights, requantization, float weights."""
    arrays: dict[str, np.ndarray] = {
        "act_bits": np.array(trained.net.act_bits),
        "weight_bits": np.array(trained.net.weight_bits),
    }
    for i, (layer, wf) in enumerate(zip(trained.net.layers, trained.float_weights, strict=True)):
        arrays[f"w{i}"] = layer.weights.astype(np.int8)
        arrays[f"requant{i}"] = np.array([layer.mult, layer.shift], dtype=np.int64)
        arrays[f"float_w{i}"] = wf
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def load_trained(path: str | Path, specs: tuple[qnet.LayerSpec, ...] = qnet.DIGITS_CNN) -> qnet.Trained:
    """Read a network written by :func:`save_trained`; a wrong file is a one-line InputError."""
    try:
        with np.load(path) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as err:
        raise InputError(f"not a trained network (.npz): {err}", path) from None
    layers, floats = [], []
    for i, spec in enumerate(specs):
        for key in (f"w{i}", f"requant{i}", f"float_w{i}"):
            if key not in data:
                raise InputError(f"missing array '{key}'", path)
        w = data[f"w{i}"].astype(np.int64)
        k, n = qnet.gemm_shape(spec)
        if w.shape != (k, n):
            raise InputError(f"w{i} has shape {w.shape}, layer {spec.name} needs {(k, n)}", path)
        mult, shift = (int(v) for v in data[f"requant{i}"])
        layers.append(qnet.QuantLayer(spec, w, mult, shift))
        floats.append(data[f"float_w{i}"])
    net = qnet.QuantNet(int(data["act_bits"]), int(data["weight_bits"]), tuple(layers))
    return qnet.Trained(tuple(floats), net)


def shipped_network(name: str) -> qnet.Trained:
    """A network shipped in ``configs/`` by its ``--network`` name."""
    if name not in NETWORKS:
        raise InputError(f"unknown network (known: {', '.join(NETWORKS)})", "network", name)
    with resources.as_file(resources.files("systolic.configs") / NETWORKS[name]) as p:
        return load_trained(p)


def onnx_network(path: str | Path) -> tuple[qnet.Trained, float]:
    """An ONNX network with weights (:func:`systolic.formats.onnx_net.read_network`) for the digits: its
    float accuracy on the held-out split from onnxruntime, and its integer network (ternary weights, 4-bit
    activations) by post-training quantization (:func:`systolic.model.qnet.post_training`, clip levels
    from the training split)."""
    from systolic.formats.onnx_net import onnx_logits, read_network

    specs, weights, hw = read_network(path)
    if hw != qnet.IMAGE_HW or specs[0].in_ch != 1 or specs[-1].out_ch != 10:
        raise InputError(
            f"the digits are {qnet.IMAGE_HW}x{qnet.IMAGE_HW}x1 images in 10 classes; the model takes "
            f"{hw}x{hw}x{specs[0].in_ch} and gives {specs[-1].out_ch}",
            path,
        )
    x_train, _, x_test, y_test = digits_split()
    float_acc = accuracy(onnx_logits(path, x_test), y_test)
    net = qnet.post_training(weights, x_train, specs=specs, **_QUANT)
    return qnet.Trained(weights, net), float_acc


#: The quantization of ONNX networks: the shipped network's (ternary weights, 4-bit activations).
_QUANT = {"act_bits": 4, "weight_bits": 2}


# --------------------------------------------------------------------------- evaluation


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def digital_logits(net: qnet.QuantNet, codes: np.ndarray, acc_bits: int) -> np.ndarray:
    """The integer network with every GEMM as the digital array computes it."""
    return qnet.int_forward(net, codes, lambda i, a, w: digital_gemm(a, w, acc_bits, True))


def analog_logits(net: qnet.QuantNet, codes: np.ndarray, cfg: AnalogConfig, seed: int) -> np.ndarray:
    """The integer network with every GEMM on the analog core ``cfg``; weights programmed, and every
    read's noise drawn, from one generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    programmed = [program_weights(cfg, layer.weights, rng) for layer in net.layers]
    return qnet.int_forward(net, codes, lambda i, a, w: analog_gemm(cfg, a, programmed[i], rng))


def core_for(cfg: AnalogConfig, net: qnet.QuantNet) -> AnalogConfig:
    """``cfg`` at the network's widths: unsigned ``act_bits`` inputs, signed ``weight_bits`` weights."""
    return cfg.replace(
        input_bits=net.act_bits,
        weight_bits=net.weight_bits,
        input_signed=False,
        weight_signed=True,
        acc_bits=max(cfg.acc_bits, net.act_bits + net.weight_bits),
        dac_bits=min(cfg.dac_bits, net.act_bits),
    )


@dataclass(frozen=True)
class AccuracyReport:
    """Everything ``systolic accuracy`` prints and writes (accuracies are fractions, energies pJ)."""

    network: str
    core: AnalogConfig
    test_images: int
    seeds: int
    float_acc: float
    digital_acc: float
    analog_acc: tuple[float, ...]  # [seed] at the core's own noise
    noise_kind: str
    sigmas: tuple[float, ...]
    noise_acc: np.ndarray  # [sigma, seed]
    adc_bits: tuple[int, ...]
    adc_acc: np.ndarray  # [adc_bits, seed]
    adc_pj: np.ndarray  # [adc_bits] analog energy per inference
    analog_pj: float  # per inference at the core's ADC bits
    analog_latency_s: float
    program_pj: float  # programming every weight once
    resident: bool
    digital_pj: float  # the digital array's PEs, same node and precision
    macs: int
    layer_names: tuple[str, ...] = field(default=())
    layer_pj: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [layer, class]

    def break_sigma(self, points: float = 2.0) -> float | None:
        """The smallest swept sigma whose mean accuracy is more than ``points`` below the digital one."""
        mean = self.noise_acc.mean(axis=1)
        bad = np.flatnonzero(mean < self.digital_acc - points / 100.0)
        return float(self.sigmas[bad[0]]) if bad.size else None


def evaluate(
    network: str,
    cfg: AnalogConfig,
    *,
    sigmas: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5),
    noise_kind: str = "program",
    adc_bits: tuple[int, ...] = (3, 4, 5, 6, 7, 8),
    seeds: int = 3,
    trained: qnet.Trained | None = None,
    float_acc: float | None = None,
) -> AccuracyReport:
    """Accuracies and energies of ``network`` on the held-out digits, for ``systolic accuracy``.

    ``noise_kind`` names the sigma the sweep sets (``program``: ``program_sigma``, ``read``:
    ``read_sigma``); every other noise term stays as ``cfg`` has it. The ADC sweep keeps ``cfg``'s noise.
    """
    if noise_kind not in NOISE_KINDS:
        raise InputError(f"must be one of {', '.join(NOISE_KINDS)}, not {noise_kind!r}", "noise kind")
    if seeds < 1:
        raise InputError(f"must be at least 1, not {seeds}", "seeds")
    if trained is None and str(network).lower().endswith(".onnx"):
        trained, float_acc = onnx_network(network)
        network = Path(network).stem
    trained = trained or shipped_network(network)
    net = trained.net
    core = core_for(cfg, net)
    _, _, x_test, y_test = digits_split()
    codes = qnet.input_codes(x_test, net.act_bits)
    if float_acc is None:
        float_acc = accuracy(qnet.float_forward(trained.float_weights, x_test), y_test)
    digital_acc = accuracy(digital_logits(net, codes, core.acc_bits), y_test)

    def run(c: AnalogConfig) -> list[float]:
        return [accuracy(analog_logits(net, codes, c, s), y_test) for s in range(seeds)]

    analog_acc = tuple(run(core))
    field_name = f"{noise_kind}_sigma"
    noise_acc = np.array([run(core.replace(**{field_name: s})) for s in sigmas])  # [sigma, seed]
    adc_acc = np.array([run(core.replace(adc_bits=b)) for b in adc_bits])  # [adc_bits, seed]
    work = qnet.workload(tuple(layer.spec for layer in net.layers), name=network)
    gemm = GemmArrays.from_workload(work)
    result = analog_layers(core, gemm)
    adc_pj = np.array([analog_layers(core.replace(adc_bits=b), gemm).inference_pj.sum() for b in adc_bits])
    macs = int(work.macs)
    ternary = net.weight_bits == 2  # the digital array's ternary-weight PE (sign select, no multiplier)
    digital = digital_pj_per_mac(
        core.tech_node_nm, core.vdd_v, net.act_bits, net.weight_bits, core.acc_bits, ternary=ternary
    )
    return AccuracyReport(
        network=network,
        core=core,
        test_images=len(y_test),
        seeds=seeds,
        float_acc=float_acc,
        digital_acc=digital_acc,
        analog_acc=analog_acc,
        noise_kind=noise_kind,
        sigmas=tuple(float(s) for s in sigmas),
        noise_acc=noise_acc,
        adc_bits=tuple(int(b) for b in adc_bits),
        adc_acc=adc_acc,
        adc_pj=adc_pj,
        analog_pj=float(result.inference_pj.sum()),
        analog_latency_s=float(result.latency_s.sum()),
        program_pj=float(result.program_pj.sum()),
        resident=result.resident,
        digital_pj=digital * macs,
        macs=macs,
        layer_names=tuple(layer.name for layer in work),
        layer_pj=result.energy_pj,
    )


# --------------------------------------------------------------------------- reports


def _pct(x: float) -> str:
    return f"{100 * x:6.2f}"


def report_text(r: AccuracyReport) -> str:
    """The tables ``systolic accuracy`` prints."""
    c = r.core
    lines = [
        f"network {r.network}: ternary weights" if c.weight_bits == 2 else f"network {r.network}",
        f"  weights {c.weight_bits} bits (signed), activations {c.input_bits} bits, {r.macs:,} MACs per "
        f"image, {r.test_images} held-out images, {r.seeds} noise seed(s)",
        f"analog core {c.name}: {c.rows}x{c.cols} crossbars of {c.cell_bits}-bit cells, DAC {c.dac_bits} "
        f"bit(s), ADC {c.adc_bits} bits per {c.cols_per_adc} columns, {c.tech_node_nm:g} nm, "
        f"program_sigma {c.program_sigma:g}, read_sigma {c.read_sigma:g}, ir_drop {c.ir_drop:g}",
        "",
        "inference              accuracy %   energy/inference pJ   pJ/MAC",
        f"float                    {_pct(r.float_acc)}",
        f"digital (bit-exact)      {_pct(r.digital_acc)}     {r.digital_pj:14.1f}   "
        f"{r.digital_pj / r.macs:7.4f}",
        f"analog (noisy)           {_pct(float(np.mean(r.analog_acc)))}     {r.analog_pj:14.1f}   "
        f"{r.analog_pj / r.macs:7.4f}",
        "",
        f"programming every weight once: {r.program_pj / 1e3:.1f} nJ "
        + ("(weights stay: a one-time cost)" if r.resident else "(weights do not fit: paid per inference)"),
        f"analog latency per image: {r.analog_latency_s * 1e6:.2f} us",
        "",
        f"accuracy % vs {r.noise_kind}_sigma (fraction of the conductance range), mean [min..max] of seeds",
    ]
    for s, acc in zip(r.sigmas, r.noise_acc, strict=True):
        lines.append(f"  {s:6.3f}   {_pct(acc.mean())} [{_pct(acc.min())}..{_pct(acc.max())}]")
    brk = r.break_sigma()
    lines.append(
        f"  accuracy falls more than 2 points below digital at sigma = {brk:g}"
        if brk is not None
        else "  accuracy stays within 2 points of digital over the whole sweep"
    )
    lines += ["", "ADC bits   accuracy %   analog pJ/inference   pJ/MAC"]
    for b, acc, pj in zip(r.adc_bits, r.adc_acc, r.adc_pj, strict=True):
        lines.append(f"  {b:4d}      {_pct(acc.mean())}     {pj:14.1f}   {pj / r.macs:7.4f}")
    return "\n".join(lines) + "\n"


def report_json(r: AccuracyReport) -> dict:
    """The report as plain JSON-able data."""
    return {
        "network": r.network,
        "core": r.core.to_dict(),
        "test_images": r.test_images,
        "seeds": r.seeds,
        "float_acc": r.float_acc,
        "digital_acc": r.digital_acc,
        "analog_acc": list(r.analog_acc),
        "noise_kind": r.noise_kind,
        "sigmas": list(r.sigmas),
        "noise_acc": r.noise_acc.tolist(),
        "break_sigma_2pt": r.break_sigma(),
        "adc_bits": list(r.adc_bits),
        "adc_acc": r.adc_acc.tolist(),
        "adc_pj_per_inference": r.adc_pj.tolist(),
        "analog_pj_per_inference": r.analog_pj,
        "analog_latency_s": r.analog_latency_s,
        "program_pj": r.program_pj,
        "weights_resident": r.resident,
        "digital_pe_pj_per_inference": r.digital_pj,
        "macs": r.macs,
        "layers": {
            name: dict(zip(("dac", "cell", "adc", "shift_add", "accumulate"), row.tolist(), strict=True))
            for name, row in zip(r.layer_names, r.layer_pj, strict=True)
        },
    }


def plot_png(r: AccuracyReport) -> bytes:
    """Accuracy vs noise and vs ADC bits (with energy per inference) as PNG bytes, without metadata."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    mean = 100 * r.noise_acc.mean(axis=1)
    ax1.fill_between(r.sigmas, 100 * r.noise_acc.min(axis=1), 100 * r.noise_acc.max(axis=1), alpha=0.25)
    ax1.plot(r.sigmas, mean, "o-", label=f"analog ({r.seeds} seeds)")
    ax1.axhline(100 * r.float_acc, color="k", ls=":", label="float")
    ax1.axhline(100 * r.digital_acc, color="g", ls="--", label="digital (bit-exact)")
    ax1.set_xlabel(f"{r.noise_kind}_sigma (fraction of conductance range)")
    ax1.set_ylabel("held-out accuracy %")
    ax1.set_title(f"{r.network} on {r.core.name}")
    ax1.legend(loc="lower left", fontsize=8)
    ax2.plot(r.adc_bits, 100 * r.adc_acc.mean(axis=1), "o-", label="accuracy")
    ax2.axhline(100 * r.digital_acc, color="g", ls="--")
    ax2.set_xlabel("ADC bits")
    ax2.set_ylabel("held-out accuracy %")
    ax3 = ax2.twinx()
    ax3.plot(r.adc_bits, np.asarray(r.adc_pj) / 1e3, "s-", color="tab:red", label="energy")
    ax3.axhline(r.digital_pj / 1e3, color="tab:red", ls="--", lw=0.8)
    ax3.set_ylabel("energy per inference (nJ); dashed: digital PEs", color="tab:red")
    ax2.set_title("accuracy and energy vs ADC resolution")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def parse_floats(text: str, option: str) -> tuple[float, ...]:
    """A comma-separated list of non-negative numbers from the command line."""
    from systolic.numbers import parse_float

    try:
        values = tuple(parse_float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise InputError(f"must be numbers separated by commas, not '{text}'", option) from None
    if not values or any(not math.isfinite(v) or v < 0 for v in values):
        raise InputError(f"must be non-negative numbers separated by commas, not '{text}'", option)
    return values
