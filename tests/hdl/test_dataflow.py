# amaranth: UnusedElaboratable=no
# ^ error-path tests construct components whose __init__ raises; Amaranth would warn they went unused.
"""The RTL's reading of the port table: what each array port presents for each dataflow."""

from __future__ import annotations

import pytest

from systolic.config import Dataflow
from systolic.dataflow import PORT_MAP
from systolic.hdl.dataflow import coordinate_source

# (tensor, lane dimension, source of the row coordinate, source of the col coordinate), from the design brief:
# OS west A[m0+r, k], north B[k, n0+c], south C[m0+i, n0+c]; WS west A[m, k0+r], north B[k0+i, n0+c],
# south C[m, n0+c]; IS west B[k0+r, n], north A[m0+c, k0+i], south C[m0+c, n].
EXPECTED = {
    Dataflow.OS: {
        "west": ("A", "m", "sr_base", "t"),
        "north": ("B", "n", "t", "sc_base"),
        "south": ("C", "n", "sr_index", "sc_base"),
    },
    Dataflow.WS: {
        "west": ("A", "k", "t", "sr_base"),
        "north": ("B", "n", "sr_index", "sc_base"),
        "south": ("C", "n", "t", "sc_base"),
    },
    Dataflow.IS: {
        "west": ("B", "k", "sr_base", "t"),
        "north": ("A", "m", "sc_base", "sr_index"),
        "south": ("C", "m", "sc_base", "t"),
    },
}


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
@pytest.mark.parametrize("port", ["west", "north", "south"])
def test_port_map_matches_the_design(dataflow, port):
    pm = PORT_MAP[dataflow][port]
    want = EXPECTED[dataflow][port]
    got = (pm.tensor, pm.lane_dim, coordinate_source(dataflow, port, 0), coordinate_source(dataflow, port, 1))
    assert got == want


def test_components_want_an_array_config():
    from systolic.hdl.engine import GemmEngine
    from systolic.hdl.pe import WSPE

    for component in (GemmEngine, WSPE):
        with pytest.raises(TypeError, match="cfg must be an ArrayConfig, not dict"):
            component({"rows": 2})
