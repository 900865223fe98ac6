"""The part of GitHub's OpenAPI description the tests reach, kept in the checkout.

`tests/data/github_openapi/` holds what this module extracts from the pinned description
(`PACKAGE` in tests/github_contract.py): `api.github.com.json`, the operations the suite's fake
exchanges reach (their path items' own keys too) with every component their `$ref`s name,
transitively, each value as in the package; and `routes.json`, every path template of the full
description with its methods and multi-segment parameters, so a call is routed as against the
full description and an operation the subset lacks is told from one GitHub does not have.

    python -m tests.github_openapi_subset --write                 # the same operations, again
    python -m tests.github_openapi_subset --write --add 'GET /emojis'
    python -m tests.github_openapi_subset --write --recorded FILE  # exactly those in FILE

FILE is what a run with `LAPSE_GITHUB_OPENAPI_RECORD=FILE` (and the full description) appends
each reached operation to, one `METHOD /template` a line.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

SUBSET = Path(__file__).resolve().parent / "data" / "github_openapi"
DOCUMENT = SUBSET / "api.github.com.json"
ROUTES = SUBSET / "routes.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
COMPONENT = re.compile(r"^#/components/([\w-]+)/([^/]+)$")
KEPT = ("openapi", "info", "servers", "externalDocs")

Operation = tuple[str, str]  # ("GET", "/repos/{owner}/{repo}")


def resolved(document: dict[str, Any], node: Any) -> Any:
    """`node` with a local `$ref` followed."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def route_index(document: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Every path template: its methods and the parameters that span several segments."""
    index = {}
    for template, item in document["paths"].items():
        declared = [*item.get("parameters", [])]
        methods = [m for m in METHODS if isinstance(item.get(m), dict)]
        for method in methods:
            declared += item[method].get("parameters", [])
        multi = sorted(
            {
                p["name"]
                for p in (resolved(document, d) for d in declared)
                if p.get("x-multi-segment")
            }
        )
        index[template] = {"methods": methods, "multi": multi}
    return index


def operations(document: dict[str, Any]) -> set[Operation]:
    return {
        (method.upper(), template)
        for template, item in document["paths"].items()
        for method in METHODS
        if isinstance(item.get(method), dict)
    }


def references(node: Any) -> set[str]:
    found, pending = set(), [node]
    while pending:
        value = pending.pop()
        if isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, dict):
            if isinstance(value.get("$ref"), str):
                found.add(value["$ref"])
            pending.extend(value.values())
    return found


def extract(full: dict[str, Any], wanted: set[Operation]) -> dict[str, Any]:
    """The operations `wanted` of `full` and every component they reach, in `full`'s order."""
    missing = wanted - operations(full)
    if missing:
        raise ValueError(f"not operations of the description: {sorted(missing)}")
    paths = {}
    for template, item in full["paths"].items():
        methods = {m.lower() for m, t in wanted if t == template}
        if methods:
            paths[template] = {k: v for k, v in item.items() if k not in METHODS or k in methods}
    reached: set[tuple[str, str]] = set()
    pending = references(paths)
    while pending:
        ref = pending.pop()
        match = COMPONENT.match(ref)
        if match is None:
            raise ValueError(f"$ref {ref!r} names no component")
        kind, name = match.groups()
        if (kind, name) not in reached:
            reached.add((kind, name))
            pending |= references(full["components"][kind][name])
    components = {
        kind: {name: value for name, value in entries.items() if (kind, name) in reached}
        for kind, entries in full["components"].items()
        if any(k == kind for k, _ in reached)
    }
    return {**{k: full[k] for k in KEPT if k in full}, "paths": paths, "components": components}


def render(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False) + "\n"


def render_routes(index: dict[str, dict[str, list[str]]]) -> str:
    """One route a line."""
    lines = [f" {json.dumps(t)}: {json.dumps(e)}" for t, e in index.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def recorded(path: Path) -> set[Operation]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {parsed(line) for line in lines if line.strip()}


def parsed(text: str) -> Operation:
    method, _, template = text.strip().partition(" ")
    if method.lower() not in METHODS or not template.startswith("/"):
        raise ValueError(f"{text!r} is not 'METHOD /template'")
    return method.upper(), template.strip()


def main(argv: list[str] | None = None) -> int:
    from tests import github_contract

    parser = argparse.ArgumentParser(prog="python -m tests.github_openapi_subset")
    parser.add_argument("--write", action="store_true", help="write the subset (else: compare)")
    parser.add_argument("--add", action="append", default=[], metavar="'METHOD /template'")
    parser.add_argument("--recorded", type=Path, help="exactly the operations this file lists")
    args = parser.parse_args(argv)
    full = github_contract.full_description()
    if not isinstance(full, github_contract.Description):
        print(f"github_openapi_subset: {full or github_contract.absent()}", file=sys.stderr)
        return 2
    try:
        wanted = recorded(args.recorded) if args.recorded else operations(load())
        document = render(extract(full.document, wanted | {parsed(a) for a in args.add}))
    except (OSError, ValueError) as error:
        print(f"github_openapi_subset: {error}", file=sys.stderr)
        return 2
    routes = render_routes(route_index(full.document))
    if args.write:
        SUBSET.mkdir(parents=True, exist_ok=True)
        DOCUMENT.write_text(document, encoding="utf-8")
        ROUTES.write_text(routes, encoding="utf-8")
        print(
            f"wrote {DOCUMENT.name} ({len(operations(json.loads(document)))} operations), "
            f"{ROUTES.name}"
        )
        return 0
    same = DOCUMENT.read_text(encoding="utf-8") == document
    same = same and ROUTES.read_text(encoding="utf-8") == routes
    print("the subset is what the description gives" if same else "the subset differs: --write")
    return 0 if same else 1


def load() -> dict[str, Any]:
    if not DOCUMENT.is_file():
        return {"paths": {}}
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


if __name__ == "__main__":
    sys.exit(main())
