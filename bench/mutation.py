"""Mutation testing of the modules that decide or prove who gets access.

    python bench/mutation.py [--module NAME ...] [--max-children N] [--report FILE]
    python bench/mutation.py --sample 40   # about 40 mutants per module, the same each run
    python bench/mutation.py --hand        # the hand-made mutants of tests/mutation/
    python bench/mutation.py --rejudge DIR # the survivors of a run kept in DIR, on today's code

Runs mutmut (configured under [tool.mutmut] in pyproject.toml) on the chosen modules (all of
MODULES by default), prints the mutation score of each, and lists every mutant that survived
and is not explained in tests/mutation/equivalent.yaml. Exit status: 0 when there is no such
new survivor, 1 when there is (the report says which), 2 when mutmut itself failed.

CLI tests run in-process under mutation (LAPSE_CLI_IN_PROCESS=1, see tests/acceptance/cli.py),
so mutants reached only through `lapse ...` are seen too. Results are cached under mutants/;
delete that folder to start over.

A whole run takes hours on two cores. `--rejudge DIR` reads the verdicts of a run kept in DIR
(its `mutants/` folder, from an earlier commit) and judges each of its survivors again on the
code as it is now: the mutant's change is applied to a copy of this repository and its module's
TEST_FILES run. A survivor whose line is no longer in the code is gone, and counted nowhere.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
KNOWN = ROOT / "tests" / "mutation" / "equivalent.yaml"

# Module name -> mutant name patterns (mutmut names mutants `<module>.x_<function>__mutmut_<n>`).
# The first module whose pattern matches a mutant is its module.
MODULES: dict[str, tuple[str, ...]] = {
    "approvals": ("generator.github.approvals.*",),
    "plan_approvals": ("generator.github.plan_approvals.*",),
    "last_apply": ("generator.github.last_apply.*",),
    "codeowners": ("generator.github.codeowners.*",),
    "hierarchy": ("generator.checks.rules.hierarchy.*",),
    "rules": ("generator.checks.rules.*",),
    "render": ("generator.terraform.render.*", "generator.terraform.hcl.*"),
    "plan": ("generator.terraform.plan.*",),
    "configuration": ("generator.terraform.configuration.*",),
    "conditions": ("generator.terraform.conditions.*",),
    "verify_plan": ("generator.lifecycle.verify_plan.*",),
    "repo": ("generator.core.repo.*",),
    "expire": ("generator.lifecycle.expire.*", "generator.github.request_pulls.*"),
    # Who did what: whose events are whose, through minted credentials and relays.
    "attribution": ("generator.review.attribution.*",),
    # The review's severity, and which lines of an export are never parsed because they are
    # another principal's.
    "analysis": (
        "generator.review.analysis.*",
        "generator.review.collector.*",
        "generator.review.tally.*",
        "generator.review.verdicts.*",
        "generator.review.whose.*",
    ),
}
# Every test file that exercises a module. mutmut runs, for each mutant, the tests that reached
# its function while it collected statistics; a function that runs only at import (a rule's
# registration, a module-level table) is reached by none, and its mutants are run here against
# these files instead of being counted as untested.
TEST_FILES: dict[str, tuple[str, ...]] = {
    "approvals": ("tests/unit/test_approvals.py", "tests/unit/test_approvals_controls.py"),
    "plan_approvals": (
        "tests/unit/test_verify_plan.py",
        "tests/unit/test_verify_plan_controls.py",
        "tests/unit/test_messages_verify_plan.py",
    ),
    "last_apply": ("tests/unit/test_last_apply.py", "tests/unit/test_messages_last_apply.py"),
    "codeowners": ("tests/unit/test_codeowners.py", "tests/unit/test_codeowners_controls.py"),
    "hierarchy": ("tests/unit/test_configuration_rules.py", "tests/unit/test_tree_controls.py"),
    "rules": (
        "tests/unit/test_rules.py",
        "tests/unit/test_rules_boundaries.py",
        "tests/unit/test_messages_rules.py",
        "tests/unit/test_append_only.py",
        "tests/unit/test_configuration_rules.py",
        "tests/unit/test_tree_controls.py",
        "tests/unit/test_audit_logging.py",
        "tests/unit/test_corpus.py",
    ),
    "render": (
        "tests/unit/test_render.py",
        "tests/unit/test_render_controls.py",
        "tests/unit/test_render_skip.py",  # needs_self_check, interpolated, verify
    ),
    "plan": (
        "tests/unit/test_verify_plan.py",
        "tests/unit/test_verify_plan_controls.py",
        "tests/unit/test_messages_verify_plan.py",
        "tests/unit/test_messages_plan.py",
    ),
    "configuration": (
        "tests/unit/test_configuration_rules.py",
        "tests/unit/test_tree_controls.py",
        "tests/unit/test_local_cache.py",  # what parse_all keeps, and that it is reused
        "tests/unit/test_warm_tree_checks.py",
        "tests/unit/test_repo_walks.py",
    ),
    "conditions": ("tests/unit/test_conditions_controls.py", "tests/unit/test_simulate.py"),
    "verify_plan": (
        "tests/unit/test_verify_plan.py",
        "tests/unit/test_verify_plan_controls.py",
        "tests/unit/test_last_apply.py",
        "tests/unit/test_messages_last_apply.py",
        "tests/unit/test_messages_verify_plan.py",
    ),
    "repo": (
        "tests/unit/test_configuration_rules.py",
        "tests/unit/test_tree_controls.py",
        "tests/unit/test_loader_paths.py",
        "tests/unit/test_repo_walks.py",
    ),
    "expire": ("tests/unit/test_expire.py", "tests/acceptance/test_expire_controls.py"),
    "attribution": ("tests/unit/review/test_attribution.py", "tests/unit/review/test_analysis.py"),
    "analysis": (
        "tests/unit/review/test_analysis.py",
        "tests/unit/review/test_analysis_controls.py",
        "tests/unit/review/test_attribution.py",  # credentials handed on, as collect finds them
        "tests/unit/review/test_tally_judged.py",  # the verdicts a read's tallies share
        "tests/unit/review/test_streaming.py",  # what is parked, and reports that do not change
        "tests/unit/review/test_whose.py",  # the lines skipped undecoded
        "tests/unit/review/test_shards.py",  # a read in parts collects what one read does
    ),
}
KILLED = {1, 3, 37}  # a failing test, pytest's internal error, the type checker
SURVIVED = {0}
NOT_RUN = {None, 2}  # not checked yet, interrupted
JUDGE_TIMEOUT = 600  # seconds one mutant's test files may run when judged again


@dataclass(frozen=True, slots=True)
class Mutant:
    name: str
    exit_code: int | None
    change: str  # the removed and added lines, e.g. "- a < b\n+ a <= b"

    @property
    def function(self) -> str:
        return self.name.rsplit("__mutmut_", 1)[0]

    @property
    def status(self) -> str:
        if self.exit_code in KILLED:
            return "killed"
        if self.exit_code in SURVIVED:
            return "survived"
        if self.exit_code in NOT_RUN:
            return "not run"
        if self.exit_code in (5, 33):
            return "no tests"
        return "timeout or crash"  # counted as killed: the mutant did not pass


@dataclass(frozen=True, slots=True)
class Score:
    module: str
    killed: int
    survived: int
    no_tests: int
    other: int

    @property
    def total(self) -> int:
        return self.killed + self.survived + self.no_tests + self.other

    @property
    def percent(self) -> float:
        """Killed (timeouts included) out of every mutant run or left untested."""
        return 100.0 * (self.killed + self.other) / self.total if self.total else 100.0


def module_of(name: str, modules: Mapping[str, Sequence[str]] = MODULES) -> str | None:
    return next(
        (m for m, patterns in modules.items() if any(fnmatch.fnmatch(name, p) for p in patterns)),
        None,
    )


def change_of(diff: str) -> str:
    """The changed lines of mutmut's diff, without the file headers or context."""
    lines = [
        line[0] + " " + line[1:].strip()
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return "\n".join(lines)


def fingerprint(mutant: Mutant) -> tuple[str, str]:
    """What identifies a mutant across runs: its function and its change (not its number)."""
    return mutant.function, mutant.change


def load_known(path: Path = KNOWN) -> dict[tuple[str, str], str]:
    """Explained survivors: (function, change) -> why the mutant cannot be told apart."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    known: dict[tuple[str, str], str] = {}
    for entry in entries:
        change = "\n".join(line.strip() for line in str(entry["change"]).strip().splitlines())
        why = str(entry.get("why") or "").strip()
        if not why:
            raise ValueError(f"{path}: {entry['function']} is listed without a reason")
        known[(entry["function"], change)] = why
    return known


COLUMNS = ("killed", "survived", "no tests")


def scores(
    mutants: Iterable[Mutant], modules: Mapping[str, Sequence[str]] = MODULES
) -> list[Score]:
    counts: dict[str, list[int]] = {m: [0, 0, 0, 0] for m in modules}
    for mutant in mutants:
        module = module_of(mutant.name, modules)
        if module is None or mutant.status == "not run":
            continue
        column = COLUMNS.index(mutant.status) if mutant.status in COLUMNS else 3
        counts[module][column] += 1
    return [Score(m, *c) for m, c in counts.items() if sum(c)]


def new_survivors(mutants: Iterable[Mutant], known: Mapping[tuple[str, str], str]) -> list[Mutant]:
    """Survivors and untested mutants that no entry of the equivalent list explains."""
    return [
        m for m in mutants if m.status in ("survived", "no tests") and fingerprint(m) not in known
    ]


def report(found: Sequence[Score], fresh: Sequence[Mutant]) -> str:
    lines = [
        "| module | mutants | killed | survived | no tests | score |",
        "|---|---|---|---|---|---|",
    ]
    for s in found:
        lines.append(
            f"| {s.module} | {s.total} | {s.killed + s.other} | {s.survived} | {s.no_tests} "
            f"| {s.percent:.1f}% |"
        )
    if not fresh:
        return "\n".join([*lines, "", "No new survivors."]) + "\n"
    lines += [
        "",
        f"{len(fresh)} new survivor(s): kill each with a test, or explain it in "
        "tests/mutation/equivalent.yaml.",
        "",
    ]
    for mutant in fresh:
        lines += [f"### `{mutant.name}` ({mutant.status})", "", "```diff", mutant.change, "```", ""]
    return "\n".join(lines)


# --- running mutmut ---------------------------------------------------------------------------


# Mutants meet the tests as CI runs them: CLI tests in-process, every search at full length.
FULL_LENGTH = {"LAPSE_CLI_IN_PROCESS": "1", "LAPSE_TEST_PROFILE": "ci"}


def run_mutmut(patterns: Sequence[str], max_children: int) -> int:
    env = {**os.environ, **FULL_LENGTH}
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)]
    return subprocess.run([*command, *patterns], cwd=ROOT, env=env, check=False).returncode


def sample(names: Sequence[str], size: int) -> list[str]:
    """About `size` names spread evenly over the sorted list: the same ones on every run."""
    ordered = sorted(names)
    step = max(1, -(-len(ordered) // size))
    return ordered[::step]


def sampled_names(chosen: Mapping[str, Sequence[str]], size: int, max_children: int) -> list[str]:
    """Generate the mutants (mutmut does so before running any), then pick a sample per module."""
    # A pattern that matches no mutant: mutmut generates every mutant, collects which tests
    # reach which function, then finds nothing to run (and says so with a non-zero status).
    run_mutmut(["generator.no_such_module.*"], max_children)
    names = [m.name for m in read_results(with_changes=False)]
    return [
        name
        for module, patterns in chosen.items()
        for name in sample([n for n in names if module_of(n, {module: patterns})], size)
    ]


def read_results(root: Path = ROOT, *, with_changes: bool = True) -> list[Mutant]:
    """Every mutant mutmut has a verdict or a placeholder for, with its change."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant  # noqa: PLC0415 - dev only

    found: list[Mutant] = []
    cwd = Path.cwd()
    os.chdir(root)  # mutmut resolves its files from the working directory
    try:
        for meta in sorted((root / "mutants").rglob("*.py.meta")):
            source = meta.relative_to(root / "mutants").with_suffix("")
            codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
            for name, code in sorted(codes.items()):
                wanted = with_changes and code in SURVIVED | NOT_RUN | {5, 33}
                diff = get_diff_for_mutant(name, path=source) if wanted else ""
                found.append(Mutant(name, code, change_of(diff)))
    finally:
        os.chdir(cwd)
    return found


def run_untested(chosen: Mapping[str, Sequence[str]], only: set[str] | None) -> None:
    """Run each mutant that no test reached, or that survived the tests mutmut chose, against
    every file of its module's TEST_FILES; record that verdict.

    The mutant is chosen through the environment before Python starts, so code that runs at
    import (a rule registering itself) runs mutated too.
    """
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        codes = data["exit_code_by_key"]
        for name, code in sorted(codes.items()):
            module = module_of(name, chosen)
            if code not in (0, 5, 33) or module is None or (only is not None and name not in only):
                continue
            codes[name] = untested_verdict(name, TEST_FILES[module])
            meta.write_text(json.dumps(data, indent=4), encoding="utf-8")


def untested_verdict(name: str, files: Sequence[str]) -> int:
    """pytest's exit status with the mutant `name` active: 1 kills it, 0 lets it survive."""
    env = {**os.environ, **FULL_LENGTH, "MUTANT_UNDER_TEST": name}
    env["PYTHONPATH"] = str(ROOT / "mutants")
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *files]
    done = subprocess.run(command, cwd=ROOT / "mutants", env=env, capture_output=True, check=False)
    print(f"{'killed' if done.returncode else 'survived'} by {', '.join(files)}: {name}")
    return 1 if done.returncode == 1 else 0 if done.returncode == 0 else done.returncode


# --- hand-made mutants -------------------------------------------------------------------------

COPIED = ("generator", "tests", "policy", "schemas", "terraform", "requests", "bench", ".github")


def run_hand_mutants(root: Path = ROOT) -> list[str]:
    """Apply each mutant of tests/mutation/hand_mutants.py to a copy; the survivors' names."""
    sys.path.insert(0, str(root))
    from tests.mutation.hand_mutants import MUTANTS  # noqa: PLC0415 - needs the path above

    survivors: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "repo"
        for folder in COPIED:
            shutil.copytree(root / folder, copy / folder, ignore=shutil.ignore_patterns("mutants"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(root / name, copy / name)
        for mutant in MUTANTS:
            target = copy / mutant.path
            original = target.read_text(encoding="utf-8")
            if original.count(mutant.old) != 1:
                survivors.append(f"{mutant.name}: the text to mutate is gone from {mutant.path}")
                continue
            target.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
            try:
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pytest",
                        "-q",
                        "-x",
                        "-p",
                        "no:cacheprovider",
                        *mutant.tests,
                    ],
                    cwd=copy,
                    env={**os.environ, "PYTHONPATH": str(copy), **FULL_LENGTH},
                    capture_output=True,
                    text=True,
                    check=False,
                )
            finally:
                target.write_text(original, encoding="utf-8")
            verdict = (
                "killed" if done.returncode == 1 else f"SURVIVED (pytest exit {done.returncode})"
            )
            print(f"{verdict}: {mutant.name} -> {', '.join(mutant.tests)}")
            if done.returncode != 1:
                survivors.append(mutant.name)
    return survivors


# --- survivors of an earlier run, judged on today's code -----------------------------------------


def applied(text: str, change: str) -> str | None:
    """`text` with the mutant's change made, or None when its removed lines are not there once
    (matched line by line without their indentation, which the new lines take from the first)."""
    old = [line[2:] for line in change.splitlines() if line.startswith("- ")]
    new = [line[2:] for line in change.splitlines() if line.startswith("+ ")]
    lines = text.splitlines(keepends=True)
    starts = [
        i
        for i in range(len(lines) - len(old) + 1)
        if old and all(lines[i + k].strip() == old[k] for k in range(len(old)))
    ]
    if len(starts) != 1:
        return None
    first = lines[starts[0]]
    indent = first[: len(first) - len(first.lstrip())]
    made = [f"{indent}{line}\n" for line in new]
    return "".join(lines[: starts[0]] + made + lines[starts[0] + len(old) :])


def source_of(name: str) -> str:
    """The file a mutant's name points at: `generator.a.b.x_f__mutmut_3` -> generator/a/b.py."""
    dotted = name.split(".x_", 1)[0].split(".xǁ", 1)[0].replace(".", "/")
    return dotted + "/__init__.py" if (ROOT / dotted).is_dir() else dotted + ".py"


def rejudge(run: Path, chosen: Mapping[str, Sequence[str]], workers: int = 1) -> list[Mutant]:
    """Every mutant of the run kept in the checkout `run` (its mutants/ folder); its survivors,
    and the mutants it did not reach (a run stopped early), judged on today's code against the
    module's TEST_FILES, in `workers` copies of the repository side by side."""
    mutants = [m for m in read_results(run) if module_of(m.name, chosen)]
    known = load_known()
    due = [
        m
        for m in mutants
        if m.status in ("survived", "no tests", "not run") and fingerprint(m) not in known
    ]
    verdicts: dict[str, int | None] = {}
    with tempfile.TemporaryDirectory() as scratch:
        copies = [_copy_of_checkout(Path(scratch) / f"repo-{n}") for n in range(max(1, workers))]
        pending = list(reversed(due))

        def work(copy: Path) -> None:
            while pending:
                mutant = pending.pop()
                verdicts[mutant.name] = _judge(copy, mutant, chosen)
                if verdicts[mutant.name] is not None:
                    verdict = "killed" if verdicts[mutant.name] else "survived"
                    print(f"{verdict} now: {mutant.name}", flush=True)

        threads = [threading.Thread(target=work, args=(copy,)) for copy in copies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return [
        Mutant(m.name, verdicts[m.name], m.change) if m.name in verdicts else m
        for m in mutants
        if verdicts.get(m.name, -1) is not None
    ]


def _copy_of_checkout(copy: Path) -> Path:
    """The files the tests read, staged in a repository of their own: a test that asks git which
    files are committed (every committed path has its CODEOWNERS owner) fails in a copy without
    one, and would count every mutant of its module as killed."""
    for folder in COPIED:
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("mutants"))
    for name in ("pyproject.toml", "README.md", "ARCHITECTURE.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copy(ROOT / ".gitignore", copy / ".gitignore")
    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=copy, check=True, capture_output=True)
    return copy


def _judge(copy: Path, mutant: Mutant, chosen: Mapping[str, Sequence[str]]) -> int | None:
    """1 killed, 0 survived, None when the mutated code is no longer in today's source."""
    target = copy / source_of(mutant.name)
    original = target.read_text(encoding="utf-8")
    changed = applied(original, mutant.change) if target.is_file() else None
    if changed is None:
        return None  # gone
    target.write_text(changed, encoding="utf-8")
    try:
        files = TEST_FILES[str(module_of(mutant.name, chosen))]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *files],
            cwd=copy,
            env={**os.environ, "PYTHONPATH": str(copy), "LAPSE_CLI_IN_PROCESS": "1"},
            capture_output=True,
            check=False,
            timeout=JUDGE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return 1  # the mutant hangs the tests: it did not pass, as mutmut counts a timeout
    finally:
        target.write_text(original, encoding="utf-8")
    return judged(done.returncode)


def judged(returncode: int) -> int:
    """1 killed, 0 survived, from pytest's exit code: only a run whose tests all passed (0),
    or that found none to run (5), lets the mutant survive; a failure, an interrupted run
    or a collection error (the mutant broke an import) kills it."""
    return 0 if returncode in (0, 5) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES), default=[])
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--report", type=Path, help="also write the report here (Markdown)")
    parser.add_argument("--no-run", action="store_true", help="report on the last run only")
    parser.add_argument(
        "--hand", action="store_true", help="only the hand-made mutants of tests/mutation"
    )
    parser.add_argument(
        "--sample", type=int, default=0, help="run about this many mutants per module"
    )
    parser.add_argument(
        "--rejudge", type=Path, metavar="DIR", help="judge a kept run's survivors on today's code"
    )
    options = parser.parse_args(argv)
    if options.hand:
        survivors = run_hand_mutants()
        for name in survivors:
            print(f"not killed: {name}", file=sys.stderr)
        return 1 if survivors else 0
    chosen = {m: MODULES[m] for m in options.module or MODULES}
    if options.rejudge:
        mutants = rejudge(options.rejudge, chosen, options.max_children)
        fresh = new_survivors(mutants, load_known())
        text = report(scores(mutants, chosen), fresh)
        print(text)
        if options.report:
            options.report.write_text(text, encoding="utf-8")
        return 1 if fresh else 0
    patterns = [p for group in chosen.values() for p in group]
    if options.sample:
        patterns = sampled_names(chosen, options.sample, options.max_children)
    if not options.no_run and run_mutmut(patterns, options.max_children) != 0:
        print("mutmut failed; see its output above", file=sys.stderr)
        return 2
    run_untested(chosen, set(patterns) if options.sample else None)
    mutants = [m for m in read_results() if module_of(m.name, chosen)]
    if options.sample:
        mutants = [m for m in mutants if m.name in set(patterns)]
    fresh = new_survivors(mutants, load_known())
    text = report(scores(mutants, chosen), fresh)
    print(text)
    if options.report:
        options.report.write_text(text, encoding="utf-8")
    return 1 if fresh else 0


if __name__ == "__main__":
    raise SystemExit(main())
