"""The whole accelerator under cocotb on both simulators: outputs, cycles, access counts and traces agree
with the model (cosim/runner.py with top='accel', cosim/tb_layer.py, cosim/mem_harness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.runner import GemmCase, run_cases
from systolic.errors import InputError
from systolic.workload import ConvShape

BUILD = Path(__file__).resolve().parents[2] / "build" / "test"
MEM = dict(
    dram_bw_words_per_cycle=1,
    dram_latency_cycles=5,
    ifmap_sram_bytes=64,
    filter_sram_bytes=64,
    ofmap_sram_bytes=256,
)


@pytest.mark.sim
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
@pytest.mark.parametrize("df", list(Dataflow))
def test_layers_agree_with_model(sim, df):
    cfg = ArrayConfig(name=f"layers-{df.value}", rows=3, cols=2, dataflow=df, **MEM)
    conv = ConvShape(5, 4, 3, 3, 2, 3, stride_h=2, stride_w=2, pad_h=1, pad_w=1)
    cases = [GemmCase(1, 1, 1, seed=1), GemmCase(11, 7, 13, seed=2), GemmCase.from_conv(conv, seed=3)]
    rows = run_cases(cfg, sim, cases, root=BUILD, run_name="layers", top="accel")
    for r in rows:
        assert r.outputs_match, r.workload
        assert r.rtl_cycles == r.model_cycles, r.workload
        for kind in ("sram_reads", "sram_writes", "dram_reads", "dram_writes", "stall_cycles"):
            assert r.extra["rtl"][kind] == r.extra["model"][kind], (r.workload, kind)
        assert r.extra["counts_match"] and r.extra["traces_match"], r.workload
        assert r.ok
    assert rows[1].extra["rtl"]["stall_cycles"] > 0


def test_too_small_sram_fails_before_any_build(tmp_path):
    cfg = ArrayConfig(name="tiny", rows=4, cols=4, ifmap_sram_bytes=4)
    with pytest.raises(InputError, match="^ifmap_sram_bytes: too small to hold one fold's operands"):
        run_cases(cfg, "icarus", [GemmCase(8, 8, 8)], root=tmp_path, top="accel")
    assert not (tmp_path / "sim").exists()
