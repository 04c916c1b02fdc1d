"""The fuzz suite of issue 17: every case of the corpus keeps the contract (``runner.py``: exit 0 on valid
input, exit 2 with one line on bad input; no traceback, no hang, no file of the user's changed).

Fast tier (``make test``): the corpus's cheap cases in-process (those that could blow up memory or time run
as a subprocess with limits), and each hypothesis strategy for a few dozen fresh examples. Deep tier
(``make test-full``): every case, the slow ones too, as a subprocess of the ``systolic`` command with time
and memory limits, and more examples per strategy. ``python -m tests.fuzz`` runs the corpus and prints the
counts per category.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from . import strategies as fz
from .corpus import Case, corpus
from .runner import GOOD, explain, run_case

CASES = corpus()
FAST = [c for c in CASES if not c.deep]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _check(case: Case, root, isolate: bool | None = None) -> None:
    outcome = run_case(case, root, isolate)
    assert outcome.category in GOOD, explain(case, root, outcome)


def test_the_corpus_is_large_and_covers_every_subcommand():
    from systolic.cli import SUBCOMMANDS

    assert len(CASES) >= 400
    covered = {c.argv[0] for c in CASES if c.argv}
    assert set(SUBCOMMANDS) <= covered, set(SUBCOMMANDS) - covered
    assert {c.expect for c in CASES} == {"ok", "bad", "any"}


@pytest.mark.parametrize("case", FAST, ids=lambda c: c.name)
def test_fast(case, root):
    _check(case, root)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_deep(case, root):
    _check(case, root, isolate=True)


# --------------------------------------------------------------------------- fresh draws

FAST_DRAWS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
DEEP_DRAWS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
STRATEGIES = {k: s for k, (s, _) in fz.KINDS.items() if k != "sweep"}  # a sweep starts Dask: below


def _drawn(name: str, strategy, draws, root) -> None:
    count = iter(range(10**9))

    @draws
    @given(strategy)
    def check(case: Case) -> None:
        _check(Case(f"draw-{name}-{next(count)}", *_fields(case)), root)

    check()


def _fields(case: Case) -> tuple:
    from dataclasses import astuple

    return astuple(case)[1:]


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_fresh_draws(name, root):
    _drawn(name, STRATEGIES[name], FAST_DRAWS, root)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(fz.KINDS))
def test_many_fresh_draws(name, root):
    _drawn(name, fz.KINDS[name][0], DEEP_DRAWS, root)


@FAST_DRAWS
@given(fz.sweep_spec())
def test_sweep_specs_parse_or_are_refused_in_one_line(tmp_path_factory, drawn):
    """Sweep specs without starting Dask: the spec reader either accepts (and then every point's config is
    made or has its reason) or raises a one-line InputError."""
    from systolic.errors import InputError
    from systolic.flow.sweep import design_points, load_spec, make_configs

    from .corpus import GEMM_CSV

    data, expect = drawn
    folder = tmp_path_factory.mktemp("spec")
    (folder / "net.csv").write_bytes(GEMM_CSV)
    (folder / "s.toml").write_bytes(data)
    try:
        spec = load_spec(folder / "s.toml")
    except InputError as err:
        assert "\n" not in str(err) and expect != "ok", str(err)
        return
    assert expect != "bad"
    cfgs, errors = make_configs(spec, design_points(spec))
    assert all((c is None) == bool(e) for c, e in zip(cfgs, errors, strict=True))
