"""Charts as standalone SVG documents and small images as PNG, written by hand (no plotting library: the
HTML report must stay fast and byte-for-byte deterministic). :class:`Chart` records draw calls (bars, lines,
points, stairs, an image, a colour bar) and writes the document with axes, ticks, grid, title and legend."""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib

import numpy as np

#: Categories up to this count are labelled by name on the x axis (rotated), more by index.
NAMED_CATEGORIES = 24
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Inferno-like colour map for temperatures: positions and RGB.
HEAT = (
    np.array([0.0, 0.13, 0.25, 0.38, 0.5, 0.63, 0.75, 0.88, 1.0]),
    np.array(
        [
            [0, 0, 4],
            [31, 12, 72],
            [85, 15, 109],
            [136, 34, 106],
            [186, 54, 85],
            [227, 89, 51],
            [249, 140, 10],
            [249, 201, 50],
            [252, 255, 164],
        ],
        dtype=float,
    ),
)


class Chart:
    """One chart as a standalone SVG: axes with linear or log scales, ticks, grid, title and a legend at
    the right. Draw calls record data; :meth:`svg` fixes the limits (``xlim``/``ylim`` if set, else the
    data's) and writes the document."""

    def __init__(
        self,
        title: str,
        xlabel: str = "",
        ylabel: str = "",
        xlog: bool = False,
        ylog: bool = False,
        width: int = 900,
        height: int = 260,
    ):
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.xlog, self.ylog, self.width, self.height = xlog, ylog, width, height
        self.xlim: tuple[float, float] | None = None
        self.ylim: tuple[float, float] | None = None
        self.xticks: list[tuple[float, str]] | None = None
        self.y_down = False  # y grows downwards (images)
        self.zero = True  # a linear y axis starts at 0 (bars, stacked areas); else it fits the data
        self.names: list[str] | None = None
        self.ops: list[tuple] = []
        self.legend: list[tuple[str, str, str | None]] = []  # label, colour, dash of a line (None: a swatch)
        self.xs: list[np.ndarray] = []
        self.ys: list[np.ndarray] = []
        self.bar: tuple[float, float, str] | None = None
        # fixed columns (px) for the legend and for the y axis's labels: stacked charts share a plot width
        self.legend_width: float | None = None
        self.axis_width: float | None = None

    # ---- recording

    def categories(self, names: list[str]) -> None:
        """The x axis is one slot per name (bars at 0, 1, ...)."""
        self.names = list(names)
        self.xlim = (-0.6, len(names) - 0.4)

    def _data(self, x, y, color: str, label: str | None, dash: str | None = None) -> None:
        self.xs.append(np.asarray(x, dtype=float).ravel())
        self.ys.append(np.asarray(y, dtype=float).ravel())
        if label:
            self.legend.append((label, color, dash))

    def bars(self, x: np.ndarray, lo, hi: np.ndarray, color: str, label: str | None = None) -> None:
        lo = np.broadcast_to(np.asarray(lo, dtype=float), np.shape(hi))
        self._data(x, np.concatenate([lo, hi]), color, label)
        self.ops.append(("bars", np.asarray(x, dtype=float), lo, np.asarray(hi, dtype=float), color))

    def line(self, x: np.ndarray, y: np.ndarray, color: str, label: str | None, width: float = 1.5) -> None:
        self._data(x, y, color, label)
        self.ops.append(("line", np.asarray(x, dtype=float), np.asarray(y, dtype=float), color, width))

    def points(self, x: np.ndarray, y: np.ndarray, color: str, label: str | None) -> None:
        self._data(x, y, color, label)
        self.ops.append(("points", np.asarray(x, dtype=float), np.asarray(y, dtype=float), color))

    def stairs(
        self, edges: np.ndarray, lo: np.ndarray | None, hi: np.ndarray, color: str, label=None, dash: str = ""
    ) -> None:
        """Piecewise-constant ``hi`` over ``edges``; filled down to ``lo`` unless ``lo`` is None (then a line,
        dashed by ``dash``, an SVG dash array such as ``"6,3"``, so lines that coincide stay visible)."""
        self._data(edges, hi if lo is None else np.concatenate([lo, hi]), color, label)
        self.ops.append(
            ("stairs", np.asarray(edges, dtype=float), lo, np.asarray(hi, dtype=float), color, dash)
        )

    def rect(self, x0: float, x1: float, y0: float, y1: float, label: str = "") -> None:
        """An outline (data coordinates) with an optional label at its centre, drawn over the data."""
        self.ops.append(("rect", float(x0), float(x1), float(y0), float(y1), label))

    def vline(self, x: float) -> None:
        self.ops.append(("vline", float(x)))

    def image(self, png: bytes, extent: tuple[float, float, float, float]) -> None:
        self.ops.append(("image", png, extent))

    def colorbar(self, lo: float, hi: float, unit: str) -> None:
        self.bar = (lo, hi, unit)

    # ---- rendering

    def _limits(self, log: bool, values: list[np.ndarray], given, zero: bool) -> tuple[float, float, list]:
        v = np.concatenate(values) if values else np.array([0.0, 1.0])
        v = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
        if given is not None:
            lo, hi = given
        elif log:
            lo, hi = (float(v.min()), float(v.max())) if v.size else (1.0, 10.0)
            lo, hi = 10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi) + 1e-12)
        else:
            lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
            if zero:
                lo = min(lo, 0.0)
            elif hi > lo:
                lo, hi = lo - 0.08 * (hi - lo), hi + 0.08 * (hi - lo)
            hi = hi if hi > lo else lo + max(1.0, abs(lo)) * 0.1
            step = nice_step(hi - lo)
            lo, hi = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
        return lo, hi, (log_ticks(lo, hi) if log else linear_ticks(lo, hi))

    def svg(self) -> str:
        xlo, xhi, xt = self._limits(self.xlog, self.xs, self.xlim, False)
        ylo, yhi, yt = self._limits(self.ylog, self.ys, self.ylim, self.zero)
        if self.names is not None:
            xt = category_ticks(self.names)
        elif self.xticks is not None:
            xt = self.xticks
        rotate = self.names is not None and len(self.names) <= NAMED_CATEGORIES
        ylab_chars = max((len(lab) for _, lab in yt), default=1)
        left = 30 + 6.5 * ylab_chars if self.axis_width is None else self.axis_width
        longest = max((len(lab) for lab, _, _ in self.legend), default=0)
        right = (34 + 6.2 * longest) if self.legend else 18
        if self.legend_width is not None:
            right = self.legend_width
        right += 90 if self.bar else 0
        xlab_depth = 5.6 * min(max((len(lab) for _, lab in xt), default=1), 28) if rotate else 14
        bottom = 10 + xlab_depth + (18 if self.xlabel else 6)
        top = 26
        pw, ph = self.width - left - right, self.height - top - bottom

        def fx(v):
            v = np.log10(np.asarray(v, dtype=float)) if self.xlog else np.asarray(v, dtype=float)
            a, b = (math.log10(xlo), math.log10(xhi)) if self.xlog else (xlo, xhi)
            return left + (v - a) / (b - a) * pw

        def fy(v):
            v = np.log10(np.asarray(v, dtype=float)) if self.ylog else np.asarray(v, dtype=float)
            a, b = (math.log10(ylo), math.log10(yhi)) if self.ylog else (ylo, yhi)
            f = (v - a) / (b - a)
            return top + (f if self.y_down else 1 - f) * ph

        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
            f'viewBox="0 0 {self.width} {self.height}" font-family="DejaVu Sans, Arial, sans-serif" '
            'font-size="11">',
            f'<rect width="{self.width}" height="{self.height}" fill="#ffffff"/>',
            f'<clipPath id="area"><rect x="{left:.1f}" y="{top:.1f}" width="{pw:.1f}" height="{ph:.1f}"/>'
            "</clipPath>",
            f'<text x="{self.width / 2:.1f}" y="16" text-anchor="middle" font-weight="bold">'
            f"{escape(self.title)}</text>",
        ]
        out += self._ticks(xt, yt, fx, fy, left, top, pw, ph, rotate)
        out.append('<g clip-path="url(#area)">')
        for op in self.ops:
            out.append(self._op(op, fx, fy, top, ph))
        out.append("</g>")
        out.append(
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{pw:.1f}" height="{ph:.1f}" '
            'fill="none" stroke="#444"/>'
        )
        out += self._labels(left, top, pw, ph)
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def _ticks(
        self, xt, yt, fx, fy, left: float, top: float, pw: float, ph: float, rotate: bool
    ) -> list[str]:
        """Grid lines with y tick labels, and x ticks with their (maybe rotated) labels."""
        out = []
        for v, lab in yt:  # grid and y ticks
            y = float(fy(v))
            out.append(
                f'<line x1="{left:.1f}" x2="{left + pw:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>'
            )
            out.append(f'<text x="{left - 5:.1f}" y="{y + 4:.1f}" text-anchor="end">{escape(lab)}</text>')
        for v, lab in xt:
            x = float(fx(v))
            y = top + ph
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y:.1f}" y2="{y + 4:.1f}" stroke="#444"/>')
            if rotate:
                out.append(
                    f'<text x="{x:.1f}" y="{y + 10:.1f}" text-anchor="end" font-size="9" '
                    f'transform="rotate(-50 {x:.1f} {y + 10:.1f})">{escape(clip(lab, 28))}</text>'
                )
            else:
                out.append(f'<text x="{x:.1f}" y="{y + 16:.1f}" text-anchor="middle">{escape(lab)}</text>')
        return out

    def _labels(self, left: float, top: float, pw: float, ph: float) -> list[str]:
        """Axis labels, the legend and the colour bar."""
        out = []
        if self.xlabel:
            out.append(
                f'<text x="{left + pw / 2:.1f}" y="{self.height - 6:.1f}" text-anchor="middle">'
                f"{escape(self.xlabel)}</text>"
            )
        if self.ylabel:
            cy = top + ph / 2
            out.append(
                f'<text x="14" y="{cy:.1f}" text-anchor="middle" transform="rotate(-90 14 {cy:.1f})">'
                f"{escape(self.ylabel)}</text>"
            )
        lx = left + pw + 14
        for i, (lab, color, dash) in enumerate(self.legend):
            ly = top + 6 + 16 * i
            if dash is None:
                out.append(f'<rect x="{lx:.1f}" y="{ly:.1f}" width="11" height="11" fill="{color}"/>')
                out.append(f'<text x="{lx + 16:.1f}" y="{ly + 10:.1f}">{escape(lab)}</text>')
                continue
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<line x1="{lx:.1f}" x2="{lx + 24:.1f}" y1="{ly + 6:.1f}" y2="{ly + 6:.1f}" '
                f'stroke="{color}" stroke-width="1.8"{dashes}/>'
            )
            out.append(f'<text x="{lx + 29:.1f}" y="{ly + 10:.1f}">{escape(lab)}</text>')
        if self.bar:
            out.append(self._colorbar(left + pw + 20, top, ph))
        return out

    def _op(self, op: tuple, fx, fy, top: float, ph: float) -> str:
        kind = op[0]
        if kind == "bars":
            _, x, lo, hi, color = op
            keep = hi != lo
            x0, x1 = fx(x[keep] - 0.4), fx(x[keep] + 0.4)
            y0, y1 = fy(lo[keep]), fy(hi[keep])
            d = "".join(
                f"M{a:.1f} {c:.1f}H{b:.1f}V{e:.1f}H{a:.1f}Z"
                for a, b, c, e in zip(x0.tolist(), x1.tolist(), y0.tolist(), y1.tolist(), strict=True)
            )
            return f'<path d="{d}" fill="{color}"/>'
        if kind == "line":
            _, x, y, color, width = op
            pts = points(fx(x), fy(y))
            return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width}"/>'
        if kind == "points":
            _, x, y, color = op
            return "".join(
                f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3.5" fill="{color}" fill-opacity="0.85"/>'
                for a, b in zip(fx(x).tolist(), fy(y).tolist(), strict=True)
            )
        if kind == "stairs":
            _, edges, lo, hi, color, dash = op
            xs = np.repeat(edges, 2)[1:-1]  # [2 * interval] each interval's left and right edge
            top_pts = points(fx(xs), fy(np.repeat(hi, 2)))
            if lo is None:
                dashes = f' stroke-dasharray="{dash}"' if dash else ""
                return (
                    f'<polyline points="{top_pts}" fill="none" stroke="{color}" stroke-width="1.8"{dashes}/>'
                )
            bottom = points(fx(xs[::-1]), fy(np.repeat(lo, 2)[::-1]))
            return f'<polygon points="{top_pts} {bottom}" fill="{color}" stroke="none"/>'
        if kind == "vline":
            x = float(fx(op[1]))
            return (
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" y2="{top + ph:.1f}" stroke="#888" '
                'stroke-dasharray="3,3"/>'
            )
        if kind == "rect":
            _, x0, x1, y0, y1, label = op
            a, b = sorted((float(fx(x0)), float(fx(x1))))
            c, d = sorted((float(fy(y0)), float(fy(y1))))
            out = (
                f'<rect x="{a:.1f}" y="{c:.1f}" width="{b - a:.1f}" height="{d - c:.1f}" fill="none" '
                'stroke="#ffffff" stroke-width="0.8" stroke-opacity="0.8"/>'
            )
            if label and b - a > 6.0 * len(label) + 4 and d - c > 12:
                x, y = (a + b) / 2, (c + d) / 2 + 4
                out += (
                    f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" fill="#ffffff" stroke="#000000" '
                    f'stroke-width="2.5" paint-order="stroke" font-size="10">{escape(label)}</text>'
                )
            return out
        _, png, (x0, x1, y0, y1) = op  # image
        a, b = float(fx(x0)), float(fx(x1))
        c, d = sorted((float(fy(y0)), float(fy(y1))))
        return (
            f'<image x="{a:.1f}" y="{c:.1f}" width="{b - a:.1f}" height="{d - c:.1f}" '
            'preserveAspectRatio="none" style="image-rendering:pixelated" '
            f'href="{data_uri("image/png", png)}"/>'
        )

    def _colorbar(self, x: float, top: float, ph: float) -> str:
        lo, hi, unit = self.bar
        pos = np.linspace(0, 1, 11)
        stops = "".join(
            f'<stop offset="{p:.2f}" stop-color="rgb({r},{g},{b})"/>'
            for p, (r, g, b) in zip(pos.tolist(), heat(pos).tolist(), strict=True)
        )
        parts = [
            f'<linearGradient id="heat" x1="0" y1="1" x2="0" y2="0">{stops}</linearGradient>',
            f'<rect x="{x:.1f}" y="{top:.1f}" width="16" height="{ph:.1f}" fill="url(#heat)" stroke="#444"/>',
            f'<text x="{x:.1f}" y="{top - 6:.1f}">{escape(unit)}</text>',
        ]
        for v, lab in linear_ticks(lo, hi) if hi > lo else [(lo, f"{lo:.3g}")]:
            y = top + (1 - (v - lo) / max(hi - lo, 1e-9)) * ph
            parts.append(f'<text x="{x + 21:.1f}" y="{y + 4:.1f}">{escape(lab)}</text>')
        return "".join(parts)

    def img(self, key: str, alt: str) -> str:
        return img("image/svg+xml", self.svg().encode("utf-8"), key, alt)


def points(x: np.ndarray, y: np.ndarray) -> str:
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x.tolist(), y.tolist(), strict=True))


def nice_step(span: float, target: int = 5) -> float:
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))


def linear_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    step = nice_step(hi - lo)
    first = math.ceil(lo / step - 1e-9)
    values = [(first + i) * step for i in range(int((hi - first * step) / step + 1e-9) + 1)]
    return [(v, si(v)) for v in values]


def log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    first, last = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
    decades = [10.0**d for d in range(first, last + 1) if lo * (1 - 1e-9) <= 10.0**d <= hi * (1 + 1e-9)]
    if len(decades) < 2:  # less than a decade apart: 1, 2, 5 steps
        values = sorted({m * 10.0**d for d in range(first, last + 1) for m in (1, 2, 5)})
        return [(v, si(v)) for v in values if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
    step = max(1, -(-len(decades) // 8))
    return [(v, si(v)) for v in decades[::step]]


def category_ticks(names: list[str]) -> list[tuple[float, str]]:
    if len(names) <= NAMED_CATEGORIES:
        return [(float(i), n) for i, n in enumerate(names)]
    step = max(1, -(-len(names) // 30))
    return [(float(i), str(i)) for i in range(0, len(names), step)]


def si(v: float) -> str:
    """A tick label: 3 significant digits with k, M, G, T for large values."""
    a = abs(v)
    if a < 1e-12:
        return "0"
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}"


def heat(f: np.ndarray) -> np.ndarray:
    """``[...]`` fractions in [0, 1] to ``[..., 3]`` uint8 RGB on :data:`HEAT`."""
    pos, rgb = HEAT
    f = np.clip(np.asarray(f, dtype=float), 0, 1)
    return np.stack([np.interp(f, pos, rgb[:, c]) for c in range(3)], axis=-1).round().astype(np.uint8)


def png(rgb: np.ndarray) -> bytes:
    """``[y, x, 3]`` uint8 as a PNG (truecolour, no filter)."""
    h, w, _ = rgb.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, 3 * w)], axis=1)  # [y, 1 + 3x]

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    head = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        PNG_MAGIC
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def img(mime: str, data: bytes, key: str, alt: str) -> str:
    src = data_uri(mime, data)
    return f'<figure><img class="plot" id="plot-{key}" alt="{escape(alt)}" src="{src}"></figure>'
