"""systolic/flow/llm.py: every published point of configs/validation/llm.toml within its tolerance."""

from __future__ import annotations

import pytest

from systolic.errors import InputError
from systolic.flow.llm import evaluate, load_points, validate

POINTS = load_points()


def test_at_least_ten_points_each_with_a_source():
    assert len(POINTS) >= 10 and len({p.id for p in POINTS}) == len(POINTS)
    assert all(p.source.startswith("[") for p in POINTS)
    # tolerances are 10 % unless the point says why not
    assert all(p.tolerance == 0.10 or p.note for p in POINTS)


@pytest.mark.parametrize("point", POINTS, ids=[p.id for p in POINTS])
def test_published_point_within_tolerance(point):
    value = evaluate(point)
    assert abs(value / point.published - 1) <= point.tolerance, (value, point.published)


def test_validate_reports_every_point():
    rows = validate()
    assert [r["id"] for r in rows] == [p.id for p in POINTS] and all(r["ok"] for r in rows)


def test_bad_validation_files(tmp_path):
    f = tmp_path / "v.toml"
    f.write_text('[[point]]\nid = "x"\nquantity = "speed"\n')
    with pytest.raises(
        InputError, match=r"v.toml: point 1 \(x\): quantity must be one of tflops_per_device, mfu"
    ):
        load_points(f)
    f.write_text('[[point]]\nid = "x"\nquantity = "mfu"\n')
    with pytest.raises(InputError, match=r"v.toml: point 1 \(x\): missing key 'model'"):
        load_points(f)
    f.write_text("")
    with pytest.raises(InputError, match=r"v.toml: no \[\[point\]\] entries"):
        load_points(f)
