"""Run fuzz cases against the contract of issue 17 and sort each outcome into one category.

The contract, for every command line and every file a user can hand to ``systolic``:

* valid input succeeds (exit 0); bad input ends with exit status 2 and exactly one line on standard error,
  ``systolic: error: ...``; nothing ends in a traceback or another exit status;
* nothing hangs (each case has a time limit) or blows up memory (subprocess cases run under an address-space
  limit);
* every file that existed before the command and is not one of its named outputs is byte-identical
  afterwards (same type, bytes, symlink target and permission bits), and no temporary litter is left.

A case runs in a folder of its own: in-process (``systolic.cli.main``, an interval timer as the time limit)
for the fast tier, or as a subprocess of the ``systolic`` command (time and memory limits, like a user's
shell) for cases that could hang or blow up memory and for the deep tier.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import Case

#: Outcome categories. The first two are the contract kept; every other one is a failure.
GOOD = ("ok", "refused")
BAD = (
    "traceback",
    "hang",
    "data_loss",
    "accepted_nonsense",
    "wrongly_refused",
    "messy_error",
    "other_exit",
    "litter",
    "check_failed",
    "setup_failed",
)
CATEGORIES = GOOD + BAD

#: Address-space limit of a subprocess case (the issue's corpus used 10 GiB; less here so that a blow-up on
#: a shared 2-core machine stays harmless).
SUBPROCESS_MEMORY_BYTES = 6 << 30


@dataclass
class Outcome:
    case: str
    category: str
    rc: int | None
    seconds: float
    stderr: str = ""
    detail: str = ""

    def line(self) -> str:
        text = self.detail or self.stderr.strip().splitlines()[-1:] or [""]
        text = text if isinstance(text, str) else text[0]
        return f"{self.category:<18} {self.case:<48} rc={self.rc} {self.seconds:6.2f}s {text[:160]}"


class _Timeout(BaseException):
    """Raised by the interval timer inside an in-process case (a BaseException: no ``except Exception``
    in systolic swallows it)."""


# --------------------------------------------------------------------------- the case folder


def materialise(case: Case, folder: Path) -> None:
    """Create the case's files, folders, symlinks and read-only folders under ``folder``."""
    folder.mkdir(parents=True)
    for rel, content in case.files:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir(exist_ok=True)
        else:
            path.write_bytes(content)
    for rel, target in case.links:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    for rel in case.readonly:
        (folder / rel).chmod(0o555)


def snapshot(folder: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple]:
    """Every entry under ``folder`` (not following symlinks): type, content or link target, permission
    bits. ``skip``: relative paths that the command is allowed to rewrite (its named output files)."""
    out: dict[str, tuple] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            rel = str(path.relative_to(folder))
            if rel in skip:
                continue
            st = path.lstat()
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode)
            else:
                out[rel] = ("file", mode, path.read_bytes())
    return out


def _changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    lost = []
    for rel, entry in before.items():
        now = after.get(rel)
        if now is None:
            lost.append(f"{rel} removed")
        elif now[0] != entry[0]:
            lost.append(f"{rel} became a {now[0]}")
        elif now != entry:
            lost.append(f"{rel} changed")
    return lost


def _litter(folder: Path) -> list[str]:
    """Temporary files or folders that a finished command left behind."""
    found = []
    for path in folder.rglob("*"):
        name = path.name
        if name.startswith(".") and (name.endswith((".tmp", ".old")) or name.startswith(".systolic-staging")):
            found.append(str(path.relative_to(folder)))
    return found


# --------------------------------------------------------------------------- running one case


def _run_in_process(case: Case, folder: Path) -> tuple[int | None, str, str, str | None]:
    """(exit status, stdout, stderr, traceback text or 'hang')."""
    from systolic.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_cwd = Path.cwd()

    def alarm(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, case.timeout_s)
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(list(case.argv))
        return rc, out.getvalue(), err.getvalue(), None
    except _Timeout:
        return None, out.getvalue(), err.getvalue(), "hang"
    except SystemExit as exc:  # argparse's --help and --version
        return int(exc.code or 0), out.getvalue(), err.getvalue(), None
    except BaseException:  # noqa: BLE001 (a traceback is what the contract forbids: report it)
        import traceback

        return None, out.getvalue(), err.getvalue(), traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(old_cwd)


def systolic_command() -> list[str]:
    """The installed ``systolic`` script next to this interpreter (like a user's shell runs it), so that
    the case folder is not on ``sys.path``."""
    script = Path(sys.executable).parent / "systolic"
    return [str(script)] if script.exists() else [sys.executable, "-m", "systolic.cli"]


def _run_subprocess(case: Case, folder: Path) -> tuple[int | None, str, str, str | None]:
    env = dict(os.environ, PYTHONHASHSEED="0", COLUMNS="100")
    env.pop("SYSTOLIC_CALIBRATION", None)
    # root ignores permission bits: without CAP_DAC_OVERRIDE a read-only folder is read-only for root too
    drop = bool(case.readonly) and os.geteuid() == 0 and shutil.which("setpriv") is not None
    prefix = []
    if drop:
        prefix = ["setpriv", "--inh-caps=-dac_override,-dac_read_search"]
        prefix += ["--bounding-set=-dac_override,-dac_read_search", "--"]
    limit = SUBPROCESS_MEMORY_BYTES

    def apply() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    try:
        proc = subprocess.Popen(
            [*prefix, *systolic_command(), *case.argv],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            preexec_fn=apply,
            text=True,
            errors="replace",
        )
    except OSError as err:
        return None, "", str(err), f"could not start: {err}"
    try:
        out, err = proc.communicate(timeout=case.timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err, "hang"
    crash = None
    if "Traceback (most recent call last)" in err or proc.returncode < 0:
        crash = err or f"killed by signal {-proc.returncode}"
    return proc.returncode, out, err, crash


def run_case(case: Case, root: Path, isolate: bool | None = None) -> Outcome:
    """Run ``case`` in ``root/<case name>`` and classify the outcome (see the module docstring)."""
    folder = root / case.name
    materialise(case, folder)
    try:
        before = snapshot(folder, case.outputs)  # the user's files (the priors' outputs are systolic's)
        for prior in case.prior:
            rc, _, err, crash = _run_in_process(Case(f"{case.name}-prior", prior, "ok"), folder)
            if rc != 0 or crash:
                return Outcome(case.name, "setup_failed", rc, 0.0, err, f"prior {' '.join(prior)}: {err}")
        for rel, content in case.after_prior:
            (folder / rel).write_bytes(content)
        sub = case.isolate if isolate is None else isolate
        sub = sub and not any("\0" in a for a in case.argv)  # no process takes a NUL in its arguments
        start = time.perf_counter()
        rc, out, err, crash = (_run_subprocess if sub else _run_in_process)(case, folder)
        seconds = time.perf_counter() - start
        after = snapshot(folder)
        category = _classify(case, folder, rc, out, err, crash, before, after)
        detail = ""
        if category == "traceback" and crash:
            detail = crash.strip().splitlines()[-1]
            err = f"{err}\n{crash}"
        elif category == "data_loss":
            detail = "; ".join(_changes(before, after)[:3])
        elif category == "litter":
            detail = ", ".join(_litter(folder)[:3])
        return Outcome(case.name, category, rc, seconds, err, detail)
    finally:
        _unlock(folder)


def _classify(case, folder, rc, out, err, crash, before, after) -> str:
    if crash == "hang":
        return "hang"
    if crash is not None:
        return "traceback"
    if _changes(before, after):
        return "data_loss"
    if _litter(folder):
        return "litter"
    if rc == 2:
        lines = err.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("systolic: error: "):
            return "messy_error"
        return "refused" if case.expect != "ok" else "wrongly_refused"
    if rc == 0:
        if case.expect == "bad":
            return "accepted_nonsense"
        if case.check is not None:
            problem = case.check(folder, out, err)
            if problem:
                return "check_failed"
        return "ok"
    return "other_exit"


def explain(case: Case, root: Path, outcome: Outcome) -> str:
    """A longer account of a failed outcome (for test failure messages)."""
    return f"{outcome.line()}\nargv: {' '.join(case.argv)}\nstderr:\n{outcome.stderr[-3000:]}"


def _unlock(folder: Path) -> None:
    """Make read-only folders writable again so that the case folder can be removed."""
    for root, dirs, _ in os.walk(folder):
        for name in dirs:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod(0o755)


# --------------------------------------------------------------------------- the whole corpus


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> Counter:
        return Counter(o.category for o in self.outcomes)

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.category not in GOOD]

    def table(self) -> str:
        counts = self.counts()
        lines = [f"{len(self.outcomes)} cases"]
        lines += [f"  {c:<18} {counts.get(c, 0)}" for c in CATEGORIES]
        return "\n".join(lines)


def run_all(cases: list[Case], root: Path, isolate: bool | None = None, echo=None) -> Report:
    report = Report()
    for case in cases:
        outcome = run_case(case, root, isolate)
        report.outcomes.append(outcome)
        if echo is not None:
            echo(outcome)
    return report
