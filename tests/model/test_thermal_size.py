"""model/thermal_size.py: the cost estimates pass through their measured reference points and grow."""

import pytest

from systolic.model import thermal_size as size


def test_grid_cost_reference_points_and_growth():
    s, m = size.grid_cost(256, 256)
    assert (s, m) == pytest.approx((15.7, 0.86e9))
    s512, m512 = size.grid_cost(512, 512)
    assert 2.5e9 < m512 < 6e9 and 60 < s512 < 200  # measured: 4.1 GB, 99.5 s
    assert size.grid_cost(5000, 5000)[1] > 100e9  # the 5000x5000: hundreds of GB
    assert size.grid_cost(64, 64, trace_rows=1000)[0] > size.grid_cost(64, 64)[0] + 2  # 4.4 ms a row
    assert size.grid_file_bytes(64, 64, 2, 10) == 64 * 64 * 2 * 10 * size.GRID_FILE_BYTES_PER_CELL


def test_block_cost_reference_points():
    assert size.block_cost(1600) == pytest.approx((16.6, 620 * 1612**2))
    assert size.block_cost(1600, transient=True)[0] == pytest.approx(131.0)
    assert 5e9 < size.block_cost(3600)[1] < 10e9  # measured: 7.7 GB
