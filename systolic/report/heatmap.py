"""PNG heatmaps of a floorplan's temperatures (matplotlib, Agg backend, no pyplot state).

A figure holds one or more panels (typically the steady state and the moment of peak temperature of a
transient), all on one colour scale with one colour bar. A panel shows block temperatures as coloured
rectangles, or a grid model's silicon field as an image with the block outlines drawn over it; block
names are written where they fit. Output bytes are deterministic: no software or date metadata, fixed
size and resolution, matplotlib's bundled font; the file is written atomically.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from systolic.model.floorplan import Floorplan


@dataclass(frozen=True, eq=False)
class Panel:
    """One map of a heatmap figure.

    Attributes
    ----------
    title : str
    floorplan : Floorplan
    blocks_k : numpy.ndarray
        ``[block]`` block temperatures (K), floorplan order.
    field_k : numpy.ndarray, optional
        ``[row, col]`` cell temperatures of a grid model's silicon layer (row 0 at the top of the die);
        drawn instead of the block colours when given.
    """

    title: str
    floorplan: Floorplan
    blocks_k: np.ndarray
    field_k: np.ndarray | None = None


def render_png(panels: Sequence[Panel], suptitle: str | None = None, dpi: int = 100) -> bytes:
    """The PNG bytes of a figure with ``panels`` side by side on one colour scale."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    values = [np.asarray(p.blocks_k, dtype=float) for p in panels]
    values += [np.asarray(p.field_k, dtype=float).ravel() for p in panels if p.field_k is not None]
    lo = min(float(v.min()) for v in values)
    hi = max(float(v.max()) for v in values)
    if hi - lo < 1e-6:
        lo, hi = lo - 0.5, hi + 0.5
    norm = Normalize(vmin=lo, vmax=hi)
    cmap = "inferno"

    fig = Figure(figsize=(5.2 * len(panels) + 1.0, 5.4), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    image = None
    for ax, panel in zip(axes, panels, strict=True):
        flp = panel.floorplan.translated()
        w_mm, h_mm = flp.chip_width_m * 1e3, flp.chip_height_m * 1e3
        rects = [
            Rectangle((x * 1e3, y * 1e3), w * 1e3, h * 1e3)
            for x, y, w, h in zip(flp.left_m, flp.bottom_m, flp.width_m, flp.height_m, strict=True)
        ]
        if panel.field_k is not None:
            image = ax.imshow(
                np.asarray(panel.field_k), extent=(0, w_mm, 0, h_mm), origin="upper", cmap=cmap, norm=norm,
                interpolation="nearest",
            )  # fmt: skip
            outlines = PatchCollection(rects, facecolor="none", edgecolor="white", linewidth=0.4)
            ax.add_collection(outlines)
        else:
            patches = PatchCollection(rects, cmap=cmap, norm=norm, edgecolor="white", linewidth=0.4)
            patches.set_array(np.asarray(panel.blocks_k, dtype=float))
            ax.add_collection(patches)
            image = patches
        ax.set_xlim(0, w_mm)
        ax.set_ylim(0, h_mm)
        ax.set_aspect("equal")
        ax.set_xlabel("x (mm)")
        ax.set_ylabel("y (mm)")
        ax.set_title(panel.title, fontsize=10)
    fig.colorbar(image, ax=list(axes), label="temperature (K)", shrink=0.85)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    _label_blocks(fig, axes, panels, norm)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _label_blocks(fig, axes, panels: Sequence[Panel], norm) -> None:
    """Write each block's name and temperature inside it where the text fits."""
    renderer = fig.canvas.get_renderer()
    fontsize = 6.0
    char_w_px = 0.6 * fontsize * fig.dpi / 72.0  # DejaVu Sans averages about 0.6 em per character
    line_h_px = 1.25 * fontsize * fig.dpi / 72.0
    for ax, panel in zip(axes, panels, strict=True):
        flp = panel.floorplan.translated()
        box = ax.get_window_extent(renderer)
        px_per_mm = min(box.width / (flp.chip_width_m * 1e3), box.height / (flp.chip_height_m * 1e3))
        temps = np.asarray(panel.blocks_k, dtype=float)
        for i, name in enumerate(flp.names):
            w_px = flp.width_m[i] * 1e3 * px_per_mm
            h_px = flp.height_m[i] * 1e3 * px_per_mm
            text = f"{name}\n{temps[i]:.1f}"
            if max(len(name), 5) * char_w_px > 0.95 * w_px or 2 * line_h_px > 0.95 * h_px:
                text = name
                if len(name) * char_w_px > 0.95 * w_px or line_h_px > 0.95 * h_px:
                    continue
            colour = "black" if norm(temps[i]) > 0.6 else "white"
            cx = (flp.left_m[i] + flp.width_m[i] / 2) * 1e3
            cy = (flp.bottom_m[i] + flp.height_m[i] / 2) * 1e3
            ax.text(cx, cy, text, ha="center", va="center", fontsize=fontsize, color=colour)


def write_png(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` beside ``path`` and rename it over ``path`` (never a half-written image)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_heatmap(
    path: str | os.PathLike, panels: Sequence[Panel], suptitle: str | None = None, dpi: int = 100
) -> Path:
    """Render ``panels`` (see :func:`render_png`) and write the PNG atomically."""
    return write_png(path, render_png(panels, suptitle, dpi))
