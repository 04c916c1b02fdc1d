"""What the thermal models cost: memory and time estimated from their size, before they are built.

Fitted to measurements of ``systolic thermal`` (HotSpot's default package, a 2x2 floorplan, one core of a
shared 2-core machine; peak resident memory and wall time, start-up included):

* grid model (``model/thermal.py: grid_model``), rows x cols cells per layer; sparse LU of the conductance
  matrix, nested dissection: 128x128 0.23 GB 2.9 s, 256x256 0.86 GB 15.7 s, 512x512 4.1 GB 99.5 s for the
  steady state; a transient factorises once more and solves per trace row (64x64: 4.4 ms a row).
  Memory grows as (cells x layers)^1.13 and time as ^1.3 from the 256x256 point.
* block model (``block_model``), n blocks plus the package's nodes; dense matrices: 1,600 blocks 1.6 GB
  16.6 s steady, 3.0 GB 131 s with a transient (eigen-decomposition); 3,600 blocks 7.7 GB 115 s steady.
  Memory grows as n^2 (about 620 bytes per matrix entry steady, 1,200 with a transient), time as n^2.4
  steady and n^2.8 transient.

The estimates are deliberately simple power laws: they exist to refuse sizes that cannot finish (a
5000x5000 grid: hundreds of GB), not to predict run times to the second.
"""

from __future__ import annotations

#: Grid-model reference point: 256x256 cells, the default two-layer stack (chip, interface).
GRID_REF_CELLS = 256 * 256 * 2
GRID_REF_BYTES = 0.86e9
GRID_REF_S = 15.7
GRID_MEMORY_EXPONENT = 1.13
GRID_TIME_EXPONENT = 1.3
GRID_ROW_REF_S = 4.4e-3  # one transient row of a 64x64 grid
GRID_ROW_REF_CELLS = 64 * 64 * 2
GRID_ROW_EXPONENT = 1.1

#: Block-model reference point: 1,600 blocks.
BLOCK_REF_NODES = 1600 + 12
BLOCK_BYTES_PER_ENTRY = 620.0
BLOCK_BYTES_PER_ENTRY_TRANSIENT = 1200.0
BLOCK_REF_S = 16.6
BLOCK_REF_S_TRANSIENT = 131.0
BLOCK_TIME_EXPONENT = 2.4
BLOCK_TIME_EXPONENT_TRANSIENT = 2.8

#: Bytes per cell and row of a grid transient file (``t = ..`` blocks of ``<index>\t<T>`` lines).
GRID_FILE_BYTES_PER_CELL = 12


def grid_cost(rows: int, cols: int, layers: int = 2, trace_rows: int = 0) -> tuple[float, float]:
    """(seconds, bytes) of a grid model of ``rows`` x ``cols`` cells per layer: steady state, and with
    ``trace_rows`` > 0 a transient of that many rows."""
    cells = float(rows) * float(cols) * max(layers, 1)
    scale = cells / GRID_REF_CELLS
    memory = GRID_REF_BYTES * scale**GRID_MEMORY_EXPONENT
    seconds = GRID_REF_S * scale**GRID_TIME_EXPONENT
    if trace_rows:
        seconds *= 2  # the transient factorises its own matrix
        seconds += trace_rows * GRID_ROW_REF_S * (cells / GRID_ROW_REF_CELLS) ** GRID_ROW_EXPONENT
    return seconds, memory


def grid_file_bytes(rows: int, cols: int, layers: int, steps: int) -> float:
    """Bytes of a grid temperature file of ``steps`` steps (1: a ``.grid.steady``)."""
    return float(rows) * cols * layers * steps * GRID_FILE_BYTES_PER_CELL


def block_cost(blocks: int, transient: bool = False) -> tuple[float, float]:
    """(seconds, bytes) of a block model of ``blocks`` blocks: steady state, or with a transient."""
    nodes = float(blocks) + 12  # HotSpot's package: spreader and sink rings, the sink's centre
    scale = nodes / BLOCK_REF_NODES
    if transient:
        return (
            BLOCK_REF_S_TRANSIENT * scale**BLOCK_TIME_EXPONENT_TRANSIENT,
            BLOCK_BYTES_PER_ENTRY_TRANSIENT * nodes**2,
        )
    return BLOCK_REF_S * scale**BLOCK_TIME_EXPONENT, BLOCK_BYTES_PER_ENTRY * nodes**2
