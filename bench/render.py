"""How fast `lapse render` is, next to parsing the YAML alone, and where its time goes.

    python bench/render.py [-n 5000] [--repeat 3]

One corpus of valid requests is built in a temporary directory; every figure is the best of
--repeat runs over it, measured in the same process run:

  (a) floor       read every request file and parse it with libyaml, in-process
  (b) render      validate_repo(now=None) + render_all + compare/apply to terraform/grants
                  (terraform/grants is emptied before each run, so every file is written)
  render_all      rendering and self-checking the already validated requests
  self-check      python-hcl2 parsing every rendered file back (terraform.render.self_check)

Target: (b)/(a) <= 3.0.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import _corpus  # first: it makes `generator` this checkout's

from generator.checks.validate import validate_repo
from generator.core.model import Request
from generator.core.repo import Repo
from generator.terraform import grants_folder as grantfiles
from generator.terraform.render import render_all, render_request, self_check

FLOOR_TARGET = 3.0


def main() -> None:
    options = _corpus.options(__doc__ or "")
    with tempfile.TemporaryDirectory(prefix="lapse-bench-") as folder:
        root = Path(folder)
        files = _corpus.make_repo(root, options.n)
        print(f"corpus: {len(files)} requests {_corpus.group_sizes(files)} in {root}")
        _report(Repo.at(root), files, options.repeat)


def _report(repo: Repo, files: list[Path], repeat: int) -> None:
    requests = _valid(repo, len(files))
    texts = [(request, render_request(request)) for request in requests]
    floor = _corpus.best_of(repeat, lambda: _corpus.yaml_floor(files))
    full = _corpus.best_of(repeat, lambda: _render(repo), before=lambda: _clear(repo))
    rendering = _corpus.best_of(repeat, lambda: render_all(requests))
    checking = _corpus.best_of(repeat, lambda: _self_check(texts))
    _check_written(repo, len(files))
    print(f"\nseconds, best of {repeat}:")
    rows = [
        ("(a) floor: libyaml load, in-process", floor),
        ("(b) validate + render_all + write", full),
        ("    render_all alone (incl. self-check)", rendering),
        ("    self-check alone (python-hcl2)", checking),
    ]
    print("\n".join(_corpus.table(rows)))
    print("\nratios to the floor:")
    print(_corpus.verdict("(b)/(a) render vs floor", full / floor, FLOOR_TARGET))
    print(f"  {'render_all/(a)':<34} {rendering / floor:6.2f}")
    print(f"  {'self-check/(a)':<34} {checking / floor:6.2f}")
    print("\nprofile of (b), top 8 by cumulative time:")
    _clear(repo)
    print("\n".join(_corpus.profile_top(lambda: _render(repo))))


def _render(repo: Repo) -> None:
    validation = validate_repo(repo, now=None)
    rendered = render_all(validation.requests)
    grantfiles.apply(repo.grants, grantfiles.compare(repo.grants, rendered))


def _clear(repo: Repo) -> None:
    shutil.rmtree(repo.grants, ignore_errors=True)


def _self_check(texts: list[tuple[Request, str]]) -> None:
    for request, text in texts:
        self_check(request, text)


def _valid(repo: Repo, expected: int) -> tuple[Request, ...]:
    validation = validate_repo(repo, now=None)
    if validation.errors or len(validation.requests) != expected:
        sys.exit(f"the corpus is not valid: {validation.errors[:1]}")
    return validation.requests


def _check_written(repo: Repo, expected: int) -> None:
    written = len(list(repo.grants.glob("*.tf")))
    if written != expected:
        sys.exit(f"render wrote {written} files for {expected} requests")


if __name__ == "__main__":
    main()
