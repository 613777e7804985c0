"""`make mutate`: mutmut over the modules that hold the product's promises, one module at a time.

mutmut reads one test selection from `[tool.mutmut]`; a module's mutants are only worth running
against the tests aimed at that module's promise (the whole suite would take hours on a laptop),
so this driver runs `mutmut run "<module>.*"` once per module with that module's focused
selection, saves the module's verdicts under mutants/scores/ (mutmut forgets every verdict when
the selection changes) and prints killed / total per module.

    python tests/mutation.py                 # every module below, in order
    python tests/mutation.py bot.delivery.sender    # one module (`make mutate MODULE=bot.delivery.sender`)
    python tests/mutation.py --table         # the saved scores, without running anything

MUTATE_SECONDS=600 caps each module's run at that many seconds of wall-clock time: mutmut is
interrupted (its own Ctrl-C path), the verdicts reached so far are saved and the rest count as
"not checked" in the table (mutmut tries the mutants with the cheapest tests first, so a capped
score leans towards the cheap ones).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORES = ROOT / "mutants" / "scores"

# The kill -9 tests restart the bot in a child process, which mutmut's per-test bookkeeping
# cannot follow and which costs ~15 s a test; crash ordering has its own fault tests.
# The PostgreSQL variants of the engine-parametrized tests are left out as well: the mutated
# modules run the same SQL text on both engines, and each variant doubles a mutant's cost.
NOT_SIGKILL = ["-k", "not sigkill and not postgresql"]
SQLITE_ONLY = ["-k", "not postgresql"]
# tests/delivery/test_outage.py is left out too: under mutmut's slower trampolined code on a loaded
# machine its client-side timeouts fire while the fake already holds the message, and the
# repeated send fails the stats run before any mutant is tried.

# module → the test files aimed at its promises (pytest arguments). Keep every module listed
# under only_mutate in [tool.mutmut] here, and nothing else.
MODULES: dict[str, list[str]] = {
    "bot.delivery.sender": [
        "tests/delivery/test_delivery.py", "tests/delivery/test_delivery_promises.py", "tests/delivery/test_db_failure.py",
        "tests/delivery/test_fault_matrix.py", "tests/delivery/test_shared_delivery.py",
        "tests/digests/test_rich_digests.py", *NOT_SIGKILL,
    ],
    "storage.outbox": [
        "tests/delivery/test_delivery.py", "tests/delivery/test_delivery_promises.py", "tests/delivery/test_db_failure.py",
        "tests/delivery/test_fault_matrix.py", "tests/delivery/test_shared_delivery.py",
        "tests/digests/test_rich_digests.py", *NOT_SIGKILL,
    ],
    "bot.digests.selection": [
        "tests/digests/test_digest.py", "tests/digests/test_rich_digests.py", "tests/digests/test_render.py",
        "tests/understand/test_chatrules.py", "tests/digests/test_preview.py", *SQLITE_ONLY,
    ],
    "bot.digests.render": [
        "tests/digests/test_render.py", "tests/digests/test_render_properties.py", "tests/digests/test_rich_digests.py",
        "tests/e2e/test_long_lists.py", *SQLITE_ONLY,
    ],
    "bot.digests.planner": [
        "tests/digests/test_digest_jobs.py", "tests/digests/test_rich_digests.py", "tests/digests/test_digest_forum.py",
        "tests/digests/test_preview.py", *SQLITE_ONLY,
    ],
    "bot.ingest.poller": ["tests/ingest/test_ingest.py", "tests/ingest/test_rotating_feed.py", *SQLITE_ONLY],
    "storage.articles": ["tests/ingest/test_ingest.py", "tests/ingest/test_rotating_feed.py", *SQLITE_ONLY],
    "handlers.common.guard": ["tests/e2e/test_e2e_groups.py", "tests/e2e/test_admin_access.py", *SQLITE_ONLY],
    "storage.access": [
        "tests/storage/test_admin_storage.py", "tests/e2e/test_admin_access.py",
        "tests/delivery/test_delivery_promises.py", *NOT_SIGKILL,
    ],
    "handlers.admin.gate": ["tests/e2e/test_admin_access.py", "tests/e2e/test_e2e_groups.py", *SQLITE_ONLY],
}  # fmt: skip

# mutmut's exit-code verdicts, grouped the way the score counts them: a timeout is a kill (the
# mutant made the promise hang), "no tests" counts against the score like a survivor.
KILLED = {"killed", "timeout", "caught by type check"}
SURVIVED = {"survived", "no tests", "suspicious"}
NOT_CHECKED = {"not checked", "check was interrupted by user"}


def mutmut_bin() -> str:
    return str(Path(sys.executable).with_name("mutmut"))


def run_one(module: str) -> int:
    """Run mutmut for one module in a child process whose config carries that selection."""
    code = (
        # a shell's background job starts with SIGINT ignored; the cap below needs mutmut's Ctrl-C
        "import signal, sys, mutmut.configuration as c\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "c.config().pytest_add_cli_args_test_selection = sys.argv[1:]\n"
        "from mutmut.__main__ import cli\n"
        f"cli(['run', {module + '.*'!r}], prog_name='mutmut')\n"
    )
    cap = float(os.environ.get("MUTATE_SECONDS") or 0) or None
    child = subprocess.Popen([sys.executable, "-c", code, *MODULES[module]], cwd=ROOT)
    capped = False
    try:
        child.wait(timeout=cap)
    except subprocess.TimeoutExpired:
        capped = True
        print(f"mutate: {module} capped at {cap:.0f} s; stopping mutmut", file=sys.stderr)
        child.send_signal(signal.SIGINT)
        child.wait()
    if child.returncode != 0 and not capped:
        print(f"mutate: mutmut failed for {module} (exit {child.returncode})", file=sys.stderr)
        return child.returncode
    out = subprocess.run(
        [mutmut_bin(), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True
    )
    verdicts = {}
    for line in out.stdout.splitlines():
        name, sep, status = line.strip().partition(": ")
        if sep and name.startswith(module + "."):
            verdicts[name] = status
    SCORES.mkdir(parents=True, exist_ok=True)
    (SCORES / f"{module}.json").write_text(json.dumps(verdicts, indent=1, sort_keys=True))
    return 0


def table() -> str:
    """The score is (killed + timeout) / checked: a mutant not reached before a MUTATE_SECONDS
    cap is not checked; "no tests" is checked and counts against the score."""
    rows = [
        "| module | mutants | checked | killed | timeout | survived | no tests | score | survivors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for module in MODULES:
        path = SCORES / f"{module}.json"
        if not path.exists():
            rows.append(f"| {module} | not measured | | | | | | | |")
            continue
        verdicts = json.loads(path.read_text())
        statuses = list(verdicts.values())
        caught = sum(status in KILLED for status in statuses)
        timeout = statuses.count("timeout")
        checked = sum(status not in NOT_CHECKED for status in statuses)
        survived = sum(status in SURVIVED - {"no tests"} for status in statuses)
        no_tests = statuses.count("no tests")
        score = f"{caught}/{checked} = {caught / checked:.2f}" if checked else "-"
        survivors = " ".join(
            n.removeprefix(module + ".") for n, s in sorted(verdicts.items()) if s in SURVIVED
        )
        rows.append(
            f"| {module} | {len(statuses)} | {checked} | {caught - timeout} | {timeout} | {survived} "
            f"| {no_tests} | {score} | {survivors} |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if argv == ["--table"]:
        print(table())
        return 0
    unknown = [m for m in argv if m not in MODULES]
    if unknown:
        print(
            f"mutate: unknown module {unknown[0]!r}; one of: {', '.join(MODULES)}", file=sys.stderr
        )
        return 2
    os.chdir(ROOT)
    for module in argv or list(MODULES):
        if rc := run_one(module):
            return rc
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
