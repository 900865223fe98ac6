"""Every GitHub exchange a test fakes, checked against GitHub's published OpenAPI description.

After each test, every call made through `responses` to api.github.com is matched to an
operation of the description (`@octokit/openapi`, pinned below): the method and path must name
an operation, each query and path parameter must be declared and well-typed, a JSON request body
must fit the operation's requestBody; the status must be declared (or `default`), declared
response headers must be well-formed and the JSON body must fit the response schema. A fixture
GitHub could not have sent fails the test with the exchange and the schema error.

The answers GitHub documents for every endpoint outside the description (404, 403, 429, 5xx;
see GITHUB_WIDE) are accepted with GitHub's error body; a rate-limit answer must carry the
headers GitHub sends with one.

The description is read once per session; only the operations a test reaches are compiled.
`.ci/fetch-github-openapi` installs it where this module looks, or `LAPSE_GITHUB_OPENAPI` names
the file. Not installed, the part of it the suite reaches, committed under
tests/data/github_openapi/ (tests/github_openapi_subset.py), stands in for it; calls are routed
against every route of the full description, and one reaching an operation the subset lacks
fails, saying how to add it. Under CI (`CI=true`) the full description is required.
`LAPSE_GITHUB_OPENAPI_RECORD` names a file each reached operation is appended to.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import pytest
import responses
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests import github_openapi_subset as subset
from tests.openapi_schemas import FORMATS, SCHEMAS, URN, schema_errors, translated

PACKAGE = "@octokit/openapi@23.0.2"
ENV = "LAPSE_GITHUB_OPENAPI"
RECORD = "LAPSE_GITHUB_OPENAPI_RECORD"
INSTALLED = (
    Path(__file__).resolve().parent.parent
    / ".ci/node/node_modules/@octokit/openapi/generated/api.github.com.json"
)
HOST = "api.github.com"
# Answers GitHub documents for every endpoint, outside the description ("Troubleshooting the
# REST API", "Rate limits for the REST API"): 404 for what does not exist or is not visible to
# the token, 403 for a permission the token lacks or a rate limit, 429 for a rate limit, and any
# 5xx. Their body is GitHub's error, which always says what went wrong in `message`.
GITHUB_WIDE = (403, 404, 429)
GITHUB_ERROR = {"allOf": [{"$ref": SCHEMAS + "basic-error"}, {"required": ["message"]}]}
LINK_PART = re.compile(r'\s*<[^<>\s]+>(\s*;\s*[\w-]+="[^"]*")*\s*')
# Marks a fake answer as a connection fault (a body cut short), not an answer GitHub composed:
# only its request is checked.
CUT_IN_TRANSIT = "X-Test-Cut-In-Transit"


def description_path() -> Path:
    return Path(os.environ.get(ENV) or INSTALLED)


def absent() -> str:
    return f"{description_path()} not found: run .ci/fetch-github-openapi (installs {PACKAGE})"


def full_description() -> Description | str | None:
    """The full description; why it cannot be used; `None` when not installed (and not named)."""
    path = description_path()
    if not path.is_file():
        return f"{path} not found: {ENV} names no file" if os.environ.get(ENV) else None
    if not os.environ.get(ENV):
        manifest = json.loads((path.parent.parent / "package.json").read_text())
        installed = f"{manifest['name']}@{manifest['version']}"
        if installed != PACKAGE:
            return f"{installed} is installed, {PACKAGE} is pinned: run .ci/fetch-github-openapi"
    return Description(json.loads(path.read_text()))


def committed_subset() -> Description | str:
    """The committed part of the pinned description, or why it is not the pinned one's."""
    document = subset.load()
    made_from = f"@octokit/openapi@{document.get('info', {}).get('version')}"
    if made_from != PACKAGE:
        return f"{subset.DOCUMENT} is of {made_from}, {PACKAGE} is pinned: {REGENERATE}"
    routes = json.loads(subset.ROUTES.read_text(encoding="utf-8"))
    return Description(document, routes, f"{PACKAGE} (the subset in tests/data/github_openapi)")


REGENERATE = "run .ci/fetch-github-openapi, then python -m tests.github_openapi_subset --write"


@cache
def description() -> Description | str:
    """The full description if installed, else (outside CI) the committed subset; or why not."""
    full = full_description()
    if full is not None:
        return full
    if os.environ.get("CI") == "true":
        return absent()
    return committed_subset()


class Description:
    """GitHub's REST operations, found by method and path (`routes`: those of the full
    description, when `document` is the subset), compiled when first reached."""

    def __init__(
        self,
        document: dict[str, Any],
        routes: dict[str, dict[str, list[str]]] | None = None,
        source: str = PACKAGE,
    ) -> None:
        self.document, self.source = document, source
        self.routes: list[tuple[re.Pattern[str], list[str], int, str, list[str]]] = []
        for template, entry in (routes or subset.route_index(document)).items():
            literal = len(re.sub(r"\{[\w-]+\}", "", template))
            pattern = self.pattern(template, set(entry["multi"]))
            self.routes.append((*pattern, literal, template, entry["methods"]))
        self.registry: Registry[Any] = Registry(retrieve=self.retrieve)  # type: ignore[call-arg]
        self.validators: dict[int, jsonschema.Draft4Validator] = {}
        self.resources: dict[str, Resource[Any]] = {}

    @staticmethod
    def pattern(template: str, multi: set[str]) -> tuple[re.Pattern[str], list[str]]:
        names: list[str] = []

        def group(match: re.Match[str]) -> str:
            names.append(match[1])
            segment = ".+" if match[1] in multi else "[^/]+"
            return f"(?P<p{len(names)}>{segment})"

        body = re.sub(r"\\\{([\w-]+)\\\}", group, re.escape(template))
        return re.compile(f"^{body}$"), names

    def resolve(self, node: Any) -> Any:
        """`node` with a local `$ref` followed (parameters, responses, headers)."""
        return subset.resolved(self.document, node)

    def retrieve(self, uri: str) -> Resource[Any]:
        """A component schema, translated once: validators share the registry's lookups."""
        if uri not in self.resources:
            schema = self.document["components"]["schemas"][uri.removeprefix(URN)]
            self.resources[uri] = DRAFT4.create_resource(translated(schema))
        return self.resources[uri]

    def validator(self, schema: dict[str, Any]) -> jsonschema.Draft4Validator:
        key = id(schema)
        if key not in self.validators:
            root = translated(schema)
            self.register(root)
            self.validators[key] = jsonschema.Draft4Validator(
                root, registry=self.registry, format_checker=FORMATS
            )
        return self.validators[key]

    def register(self, root: Any) -> None:
        """Every component schema `root` reaches, in the registry and crawled once: a lookup
        that has to retrieve is not remembered between validations, and costs a crawl each."""
        pending, found = [root], []
        while pending:
            node = pending.pop()
            if isinstance(node, list):
                pending.extend(node)
            elif isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref not in self.resources:
                    found.append((ref, self.retrieve(ref)))
                    pending.append(self.resources[ref].contents)
                pending.extend(v for k, v in node.items() if k not in ("enum", "example"))
        if found:
            self.registry = self.registry.with_resources(found).crawl()

    def parameters(self, item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
        declared = [*item.get("parameters", []), *operation.get("parameters", [])]
        return [self.resolve(p) for p in declared]

    def route(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        """The most literal path template for `method` and `path`, and its path arguments."""
        found = [
            (literal, template, dict(zip(names, match.groups(), strict=True)))
            for pattern, names, literal, template, methods in self.routes
            if method.lower() in methods and (match := pattern.match(path))
        ]
        if not found:
            return None
        _, template, arguments = max(found, key=lambda f: f[0])
        return template, arguments


def coerced(value: str, schema: dict[str, Any]) -> Any:
    """A query, path or header value as the type its schema names, or the text unchanged."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def body_of(raw: Any) -> Any:
    """The JSON a request or response carried, `None` when empty, `ValueError` if not JSON."""
    if raw in (None, b"", ""):
        return None
    return json.loads(raw)


class Exchange:
    """One call made through `responses`, checked against one operation."""

    def __init__(self, spec: Description, call: Any) -> None:
        self.spec = spec
        self.request = call.request
        self.response = call.response
        url = urlsplit(self.request.url)
        # GitHub's own Link headers page through /repositories/ID/...: /repos/OWNER/REPO/...
        path = re.sub(r"^/repositories/(\d+)/", r"/repos/\1/\1/", url.path)
        self.path, self.query = path, parse_qsl(url.query, keep_blank_values=True)
        self.method = self.request.method.upper()
        status = getattr(self.response, "status_code", "no answer")
        self.name = f"{self.method} {self.request.url} -> {status}"

    def problems(self) -> list[str]:
        found = self.spec.route(self.method, self.path)
        if found is None:
            return [f"{self.method} {self.path} is no operation of GitHub's REST API"]
        template, arguments = found
        record(f"{self.method} {template}")
        item = self.spec.document["paths"].get(template, {})
        operation = item.get(self.method.lower())
        if operation is None:
            return [
                f"{self.method} {template} is an operation of {PACKAGE} that the subset in "
                f"tests/data/github_openapi lacks: {REGENERATE} --add '{self.method} {template}'"
            ]
        self.name += f" ({operation['operationId']}: {self.method} {template})"
        parameters = self.spec.parameters(item, operation)
        problems = [*self.arguments(parameters, arguments), *self.query_problems(parameters)]
        problems += self.request_body(operation)
        if isinstance(self.response, BaseException) or CUT_IN_TRANSIT in self.response.headers:
            return problems
        return problems + self.response_problems(operation)

    def value_problems(self, where: str, value: str, parameter: dict[str, Any]) -> list[str]:
        schema = parameter.get("schema", {})
        errors = schema_errors(self.spec.validator(schema), coerced(value, schema))
        return [f"{where} {parameter['name']}={value!r}: {e}" for e in errors]

    def arguments(self, parameters: list[dict[str, Any]], values: dict[str, str]) -> list[str]:
        declared = {p["name"]: p for p in parameters if p["in"] == "path"}
        problems = []
        for name, value in values.items():
            problems += self.value_problems("path parameter", value, declared[name])
        return problems

    def query_problems(self, parameters: list[dict[str, Any]]) -> list[str]:
        declared = {p["name"]: p for p in parameters if p["in"] == "query"}
        problems = []
        for name, value in self.query:
            if name not in declared:
                problems.append(f"query parameter {name!r} is not declared")
            else:
                problems += self.value_problems("query parameter", value, declared[name])
        missing = {n for n, p in declared.items() if p.get("required")} - dict(self.query).keys()
        return problems + [f"required query parameter {n!r} is missing" for n in sorted(missing)]

    def request_body(self, operation: dict[str, Any]) -> list[str]:
        try:
            data = body_of(self.request.body)
        except ValueError:
            return ["request body is not JSON"]
        declared = self.spec.resolve(operation.get("requestBody"))
        if declared is None:
            return [] if data is None else ["request body sent to an operation that takes none"]
        if data is None:
            return ["request body required, none sent"] if declared.get("required") else []
        schema = self.json_schema(declared.get("content", {}))
        if schema is None:
            return ["request body is JSON, the operation declares no JSON body"]
        return [f"request body {e}" for e in schema_errors(self.spec.validator(schema), data)]

    @staticmethod
    def json_schema(content: dict[str, Any]) -> dict[str, Any] | None:
        for media, entry in content.items():
            if media == "application/json" or media.endswith("+json"):
                return entry.get("schema", {})  # type: ignore[no-any-return]
        return None

    def declared_response(self, operation: dict[str, Any]) -> dict[str, Any] | str:
        status = self.response.status_code
        responses_ = operation["responses"]
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in responses_:
                return self.spec.resolve(responses_[key])  # type: ignore[no-any-return]
        if status in GITHUB_WIDE:
            return {"content": {"application/json": {"schema": GITHUB_ERROR}}}
        if status >= 500:  # GitHub's own JSON, or its front end's HTML error page
            return {"content": {"application/json": {"schema": GITHUB_ERROR}, "text/html": {}}}
        return f"status {status} is not declared (declared: {', '.join(responses_)})"

    def rate_limit_problems(self) -> list[str]:
        """A rate-limit answer carries the headers GitHub sends with one."""
        status, headers = self.response.status_code, self.response.headers
        if status not in (403, 429) or b"rate limit" not in self.response.content.lower():
            return []
        if "x-ratelimit-remaining" not in headers:
            return ["rate-limit answer without the x-ratelimit-remaining header"]
        if headers["x-ratelimit-remaining"] == "0" and "x-ratelimit-reset" not in headers:
            return ["primary rate-limit answer without the x-ratelimit-reset header"]
        return []

    def response_problems(self, operation: dict[str, Any]) -> list[str]:
        declared = self.declared_response(operation)
        if isinstance(declared, str):
            return [declared]
        problems = self.header_problems(declared.get("headers", {})) + self.rate_limit_problems()
        content = declared.get("content") or {}
        if not self.response.content:
            return problems + (["response body missing: one is declared"] if content else [])
        if not content:
            return [*problems, "response body where none is declared"]
        media = self.response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        is_json = media == "application/json" or media.endswith("+json")
        schema = self.json_schema(content) if is_json else None
        if schema is None:
            if media in content:  # a media type other than JSON (raw files, an error page)
                return problems
            return [*problems, f"response is {media or 'untyped'}, declared: {', '.join(content)}"]
        try:
            data = json.loads(self.response.content)
        except ValueError:
            return [*problems, "response body is not JSON"]
        errors = schema_errors(self.spec.validator(schema), data)
        return problems + [f"response body {e}" for e in errors]

    def header_problems(self, headers: dict[str, Any]) -> list[str]:
        problems = []
        for name, reference in headers.items():
            value = self.response.headers.get(name)
            header = self.spec.resolve(reference)
            if value is None:
                if header.get("required"):
                    problems.append(f"response header {name} is required")
                continue
            problems += self.value_problems("response header", value, {"name": name, **header})
            if name.lower() == "link" and not all(map(LINK_PART.fullmatch, value.split(","))):
                problems.append(f"response header Link={value!r} is not RFC 8288")
        return problems


def record(operation: str) -> None:
    """Append `operation` to the file LAPSE_GITHUB_OPENAPI_RECORD names (xdist workers too)."""
    if os.environ.get(RECORD):
        with open(os.environ[RECORD], "a", encoding="utf-8") as log:
            log.write(operation + "\n")


def contract_problems(spec: Description, calls: list[Any]) -> list[str]:
    reports = []
    for call in calls:
        if urlsplit(call.request.url).hostname != HOST:
            continue
        exchange = Exchange(spec, call)
        problems = exchange.problems()
        if problems:
            reports.append("\n  ".join([exchange.name, *problems]))
    return reports


@pytest.fixture(autouse=True)
def github_contract(http: responses.RequestsMock) -> Iterator[None]:
    """After each test, every GitHub exchange it faked, against GitHub's description."""
    yield
    check([c for c in http.calls if urlsplit(c.request.url).hostname == HOST])


def check(calls: list[Any]) -> None:
    """Fail the test on an exchange GitHub could not have made, or when no description can be
    used (under CI: the full one is not installed), saying why."""
    if not calls:
        return
    spec = description()
    if isinstance(spec, str):
        under_ci = " under CI" if os.environ.get("CI") == "true" else ""
        pytest.fail(f"GitHub's OpenAPI description is needed{under_ci}: {spec}")
    reports = contract_problems(spec, calls)
    if reports:
        pytest.fail(
            f"{len(reports)} GitHub exchange(s) GitHub could not have made, "
            f"checked against {spec.source}:\n" + "\n".join(reports),
            pytrace=False,
        )
