"""systolic.flow.limits: budgets of memory, time and output, and the one-line refusal naming the estimate."""

import pytest

from systolic.config import load_arch
from systolic.errors import InputError
from systolic.flow import limits


def test_under_the_budgets_passes_over_is_one_line_naming_estimate_and_limit():
    limits.check("a small thing", "--x", memory_bytes=1 << 20, seconds=1.0, output_bytes=1 << 20)
    with pytest.raises(InputError) as info:
        limits.check("the grid", "-grid_rows", memory_bytes=5 << 30, seconds=7200.0, output_bytes=20 << 30)
    assert str(info.value) == (
        "-grid_rows: the grid needs about 5 GiB of memory (limit 4 GiB) and about 2 h (limit 30 min) and "
        "about 20 GiB of files (limit 10 GiB); --force to run anyway"
    )


def test_force_lifts_the_budgets_but_not_the_machines_memory(monkeypatch):
    monkeypatch.setattr(limits, "physical_memory_bytes", lambda: 16 << 30)
    limits.check("x", "--x", memory_bytes=8 << 30, seconds=1e9, output_bytes=1e15, force=True)
    with pytest.raises(
        InputError, match=r"^--x: x needs about 32 GiB of memory, more than this machine's 16 GiB$"
    ):
        limits.check("x", "--x", memory_bytes=32 << 30, force=True)


def test_hdl_cost_grows_with_the_pes_and_refuses_absurd_arrays():
    small, big = (limits.hdl_cost(load_arch("small-8x8", {"rows": n, "cols": n})) for n in (8, 64))
    fixed = (limits.HDL_FIXED_S, limits.HDL_FIXED_BYTES)
    for i in (0, 1):  # 64 times the PEs: 64 times the part that grows with them
        assert big[i] - fixed[i] == pytest.approx(64 * (small[i] - fixed[i]))
    limits.check_hdl(load_arch("small-8x8"), force=False)
    with pytest.raises(
        InputError, match=r"^--arch: the RTL of a 4096x4096 array \(16,777,216 PEs\) needs about"
    ):
        limits.check_hdl(load_arch("small-8x8", {"rows": 4096, "cols": 4096}), force=True)


def test_intervals_longer_than_the_run_or_too_many_are_refused():
    cfg = load_arch("tpu-v1-128")
    limits.check_intervals(cfg, 3.7e-3, "10us", 69, force=False)
    with pytest.raises(InputError, match=r"^interval: 1e\+09 s is longer than the whole run \(0.0037 s\)$"):
        limits.check_intervals(cfg, 3.7e-3, "1e9s", 69, force=False)
    with pytest.raises(
        InputError, match=r"^interval: power and temperature over 2,590,000 intervals of 1\.429e-09 s"
    ):
        limits.check_intervals(cfg, 3.7e-3, "1cycles", 69, force=False)


def test_human_units():
    assert limits.human_bytes(1536) == "1.5 kiB" and limits.human_bytes(3 << 40) == "3 TiB"
    assert limits.human_seconds(90) == "1.5 min" and limits.human_seconds(2 * 86400) == "2 days"
