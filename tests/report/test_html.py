"""systolic/report/html.py: the self-contained HTML report, its optional sections and their error paths,
and a headless Chromium check that it renders with its plots."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.model.bounds import layer_bounds
from systolic.model.network import network_run
from systolic.report.html import MAX_INTERVALS, _coarsen, html_report, write_html_report
from systolic.report.summary import run_summary
from systolic.workload import Layer, Workload

N_LAYERS = 3


@pytest.fixture(scope="module")
def run():
    cfg = ArrayConfig(name="rep", rows=8, cols=8, dataflow=Dataflow.WS, dram_bw_words_per_cycle=4)
    wl = Workload(
        "tiny",
        (Layer("conv1", 196, 16, 27), Layer("<fc & proj>", 1, 100, 64), Layer("attn", 32, 32, 16, repeat=4)),
    )
    res = network_run(cfg, wl)
    summary = run_summary(cfg, wl, res, model_s=0.0123)
    return summary, layer_bounds(cfg, res.gemm, res.memory)


def _sections() -> dict:
    rng = np.random.default_rng(0)
    edges = np.linspace(0.0, 2e-6, 41)
    y, x = np.mgrid[0:12, 0:20]
    return {
        "energy": {
            "classes_pj": {"mult": rng.random(N_LAYERS) * 1e3, "ifmap_sram": rng.random(N_LAYERS) * 1e3},
            "memory": ["ifmap_sram"],
        }
        | {"note": "reference table at 45 nm"},
        "power": {"edges_s": edges, "power_w": {"array": 1 + rng.random(40), "sram": np.full(40, 0.4)}},
        "dvfs": {
            "edges_s": edges[::10],
            "vdd_v": {"array": [0.9, 0.8, 0.8, 0.9]},
            "clock_hz": [1e9, 8e8, 8e8, 1e9],
        },
        "thermal": {
            "map_k": 318 + 10 * np.exp(-((x - 8) ** 2 + (y - 5) ** 2) / 20),
            "width_mm": 4,
            "height_mm": 2.4,
        },
    }


def _images(page: str) -> dict[str, tuple[str, bytes]]:
    """Every ``<img>`` of the page: id -> (mime type, decoded bytes)."""
    found = re.findall(r'<img class="plot" id="([^"]+)" alt="[^"]*" src="data:([^;]+);base64,([^"]+)">', page)
    assert len(found) == page.count("<img")
    return {key: (mime, base64.b64decode(data)) for key, mime, data in found}


def test_report_has_every_plot_and_table(run):
    summary, bounds = run
    page = html_report(summary, bounds, _sections())
    images = _images(page)
    assert list(images) == [
        "plot-cycles",
        "plot-utilisation",
        "plot-roofline",
        "plot-eyexam",
        "plot-eyexam-network",
        "plot-energy-layers",
        "plot-energy-classes",
        "plot-power",
        "plot-dvfs-vdd",
        "plot-dvfs-clock",
        "plot-thermal",
    ]
    for key, (mime, data) in images.items():
        assert mime == "image/svg+xml", key
        svg = ET.fromstring(data)  # well-formed
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
        hrefs = re.findall(rb'href="([^"]*)"', data)
        assert all(h.startswith(b"data:image/png;base64,") for h in hrefs), key
    for heading in ("Layers", "Roofline", "Eyexam bounds", "Energy", "Power", "V/f timeline", "Thermal map"):
        assert f"<h2>{heading}</h2>" in page
    assert "reference table at 45 nm" in page
    assert f"{summary['total']['cycles']:,}" in page
    assert "7. instantaneous bandwidth" in page


def test_report_is_self_contained_and_escaped(run):
    summary, bounds = run
    page = html_report(summary, bounds, _sections())
    assert re.findall(r'(?:src|href)="(?!data:)', page) == []
    assert "http:" not in page and "https:" not in page and "<link" not in page
    assert "&lt;fc &amp; proj&gt;" in page and "<fc &" not in page


def test_report_bytes_depend_only_on_the_results(run, tmp_path):
    summary, bounds = run
    first = write_html_report(tmp_path / "a" / "report.html", summary, bounds, _sections())
    other = dict(summary, model_seconds=99.0)  # the run's wall time is left out
    second = write_html_report(tmp_path / "b" / "report.html", other, bounds, _sections())
    assert first.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in first.parent.iterdir()) == ["report.html"]  # no temporary left behind


def test_sections_are_optional(run):
    summary, bounds = run
    page = html_report(summary, bounds)
    assert len(_images(page)) == 5
    assert "<h2>Energy</h2>" not in page and "<h2>Thermal map</h2>" not in page


@pytest.mark.parametrize("layers", [1, 40])
def test_one_layer_and_many_layers(layers):
    """A single layer, and more layers than are labelled by name (then by index)."""
    cfg = ArrayConfig(rows=4, cols=4, dram_bw_words_per_cycle=2)
    wl = Workload("w", tuple(Layer(f"layer_{i}", 8 + i, 5 + 2 * i, 3 + i) for i in range(layers)))
    res = network_run(cfg, wl)
    page = html_report(run_summary(cfg, wl, res, 0.0), layer_bounds(cfg, res.gemm, res.memory))
    svg = _images(page)["plot-cycles"][1]
    ET.fromstring(svg)
    assert (b">layer_0<" in svg) == (layers == 1)
    assert (b">38<" in svg) == (layers == 40)  # every second index


def test_thermal_png_and_scalar_energy(run):
    from PIL import Image

    summary, bounds = run
    buf = io.BytesIO()
    Image.new("RGB", (30, 20), (200, 40, 40)).save(buf, format="PNG")
    sections = {"thermal": {"png": buf.getvalue()}, "energy": {"classes_pj": {"mult": 5e6, "dram": 2e7}}}
    images = _images(html_report(summary, bounds, sections))
    assert images["plot-thermal"] == ("image/png", buf.getvalue())
    assert "plot-energy-layers" not in images and "plot-energy-classes" in images


def test_long_time_series_are_coarsened_keeping_energy():
    rng = np.random.default_rng(3)
    edges = np.cumsum(np.r_[0.0, rng.random(10_000) + 0.1])
    series = {"a": rng.random(10_000), "b": np.repeat([1.0, 2.0], 5000)}
    e, s = _coarsen(edges, series)
    assert e.size - 1 == MAX_INTERVALS and e[0] == edges[0] and e[-1] == edges[-1]
    for name, v in series.items():
        assert (s[name] * np.diff(e)).sum() == pytest.approx((v * np.diff(edges)).sum())
    e, s = _coarsen(np.array([0.0, 1.0, 1.0, 3.0]), {"v": np.array([1.0, 5.0, 2.0])})  # zero-width dropped
    assert e.tolist() == [0.0, 1.0, 3.0] and s["v"].tolist() == [1.0, 2.0]
    e, s = _coarsen(edges, {"v": np.repeat([0.9, 0.7, 0.9], [10, 5000, 4990])})
    assert e.tolist() == [edges[0], edges[10], edges[5010], edges[-1]] and s["v"] == pytest.approx(
        [0.9, 0.7, 0.9]
    )


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"temperature": {}}, "unknown report section(s) temperature (known: energy, power, dvfs, thermal)"),
        ({"power": {"edges_s": [0, 1]}}, "power: missing power_w"),
        (
            {"power": {"edges_s": [0, 1], "power_w": [1], "unit": "W"}},
            "power: unknown key(s) unit (known: edges_s, power_w, note)",
        ),
        (
            {"power": {"edges_s": [0, 1, 2], "power_w": {"pe": [1.0]}}},
            "power: power_w['pe'] has shape (1,), edges_s needs (2,)",
        ),
        (
            {"power": {"edges_s": [0, 2, 1], "power_w": [1, 1]}},
            "power: edges_s must be non-decreasing times, the last after the first",
        ),
        (
            {"power": {"edges_s": [0, 1], "power_w": [np.nan]}},
            "power: power_w has values that are not finite",
        ),
        (
            {"dvfs": {"edges_s": [0, 1], "vdd_v": [0.9], "clock_hz": [1e9, 2e9]}},
            "dvfs: clock_hz has shape (2,), edges_s needs (1,)",
        ),
        (
            {"energy": {"classes_pj": {"mult": [1.0, 2.0]}}},
            "energy: classes_pj['mult'] has shape (2,), not a scalar or (3,)",
        ),
        ({"energy": []}, "energy: the section must be a dict, not list"),
        ({"thermal": {}}, "thermal: give exactly one of png (PNG bytes) or map_k (a [y, x] array)"),
        ({"thermal": {"png": b"GIF89a"}}, "thermal: png is not PNG data (no PNG signature)"),
        (
            {"thermal": {"map_k": [1.0, 2.0]}},
            "thermal: map_k must be a non-empty, finite [y, x] array, not shape (2,)",
        ),
    ],
)
def test_bad_sections_are_named(run, sections, message):
    summary, bounds = run
    with pytest.raises(ValueError) as err:
        html_report(summary, bounds, sections)
    assert str(err.value) == message


def test_layer_count_mismatch(run):
    summary, bounds = run
    short = dict(summary, layers=summary["layers"][:2])
    with pytest.raises(ValueError, match=r"^summary has 2 layers, bounds 3$"):
        html_report(short, bounds)


def test_report_does_not_import_matplotlib():
    code = "import sys, systolic.report.html; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- headless Chromium

WINDOW = (1300, 2600)
#: Fill colours of the per-layer bars (compute, stall) and of the utilisation bars.
PLOT_COLOURS = {"compute": (0x44, 0x77, 0xAA), "stall": (0xEE, 0x66, 0x77), "utilisation": (0x22, 0x88, 0x33)}


def test_report_renders_in_headless_chromium(run, tmp_path):
    """Chromium loads the page, every image decodes (the page's own script says so in the dumped DOM) and
    the screenshot shows the plots' colours. Missing Chromium is a failure: ``make tools`` installs it."""
    from PIL import Image

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium not found: install Debian's chromium package ('make tools' does, as root)")
    summary, bounds = run
    path = write_html_report(tmp_path / "report.html", summary, bounds, _sections())
    shot = tmp_path / "shot.png"
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={shot}",
        "--dump-dom",
        path.as_uri(),
    ]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    print(f"chromium took {elapsed:.2f} s")
    assert out.returncode == 0, out.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", out.stdout)
    assert body, out.stdout[:500]
    n_images = len(_images(path.read_text()))
    assert f'data-images="{n_images}"' in body.group(1)
    assert f'data-images-decoded="{n_images}"' in body.group(1)
    assert 'data-rendered="yes"' in body.group(1)
    for key in ("plot-cycles", "plot-roofline", "plot-eyexam", "plot-power", "plot-thermal"):
        assert f'id="{key}"' in out.stdout
    pixels = np.asarray(Image.open(shot).convert("RGB"))  # [y, x, rgb]
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    assert (pixels.min(axis=2) < 200).mean() > 0.03, "the screenshot is (nearly) blank"
    for name, rgb in PLOT_COLOURS.items():
        near = (np.abs(pixels.astype(int) - rgb).max(axis=2) <= 8).sum()
        assert near > 200, f"{name} bars not drawn: {near} pixels of {rgb}"
    assert elapsed < 30, f"chromium took {elapsed:.1f} s"


def _screenshot(html_text: str, size: tuple[int, int], tmp_path) -> np.ndarray:
    """``[y, x, rgb]`` pixels of ``html_text`` rendered by headless Chromium at ``size`` (width, height)."""
    from PIL import Image

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium not found: install Debian's chromium package ('make tools' does, as root)")
    page, shot = tmp_path / "page.html", tmp_path / "page.png"
    page.write_text(html_text)
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]
    cmd += [f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={size[0]},{size[1]}"]
    out = subprocess.run([*cmd, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return np.asarray(Image.open(shot).convert("RGB"))


def test_thermal_map_is_drawn_the_right_way_up(tmp_path):
    """The screenshot of the thermal map puts each block where the floorplan does: a hot block at the
    south (bottom-y 0) edge is drawn at the bottom of the map, a cold one at the north edge at the top, and
    the y axis grows upwards (its label at the bottom is 0)."""
    from types import SimpleNamespace

    from systolic.flow.run import _thermal_map
    from systolic.model.floorplan import Floorplan
    from systolic.report.html import _map_chart

    mm = 1e-3
    flp = Floorplan(
        ("hot_south", "cold_north"), np.array([4 * mm, 4 * mm]), np.array([1 * mm, 2 * mm]),
        np.array([0.0, 0.0]), np.array([0.0, 1 * mm]),
    )  # fmt: skip
    temps = np.array([360.0, 300.0])  # [block] K
    thermal = SimpleNamespace(
        steady_k=temps,
        transient_k=temps[None],
        peak_row=0,
        peak_time_s=0.0,
        peak_block="hot_south",
        peak_k=360,
    )
    sec = _thermal_map(SimpleNamespace(floorplan=flp, thermal=SimpleNamespace(run=thermal)), pixels=60)
    figure = _map_chart(sec, "map_k", "Steady state", "thermal")
    svg_uri = re.search(r'src="(data:image/svg\+xml[^"]+)"', figure).group(1)
    doc = base64.b64decode(svg_uri.split(",", 1)[1]).decode()
    width, height = (int(v) for v in re.search(r'<svg[^>]*width="(\d+)" height="(\d+)"', doc).groups())
    x, y, w, h = (
        float(v)
        for v in re.search(
            r'<image x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', doc
        ).groups()
    )
    html_text = f'<html><body style="margin:0"><img src="{svg_uri}" style="display:block"></body></html>'
    pixels = _screenshot(html_text, (width + 20, height + 20), tmp_path).astype(int)
    area = pixels[round(y) + 2 : round(y + h) - 2, round(x) + 2 : round(x + w) - 2]  # inside the map
    hot = np.abs(area - (252, 255, 164)).max(axis=2) <= 12  # the colour map's hot end
    cold = area.max(axis=2) <= 20  # its cold end
    rows = np.arange(area.shape[0])[:, None] / area.shape[0]  # 0 at the top of the map
    assert hot.sum() > 100 and cold.sum() > 100
    assert (rows * hot).sum() / hot.sum() > 2 / 3 + 0.05  # the hot block: the bottom third (y 0..1 of 3 mm)
    assert (rows * cold).sum() / cold.sum() < 2 / 3 - 0.05  # the cold block: the top two thirds
    ticks = re.findall(r'<text x="[\d.]+" y="([\d.]+)" text-anchor="end">([\d.]+)</text>', doc)
    by_label = {float(label): float(ty) for ty, label in ticks}
    assert by_label[0.0] > by_label[max(by_label)], "y grows upwards: its 0 is at the bottom"
    assert ">hot_south</text>" in doc and ">cold_north</text>" in doc  # blocks named on the map
