"""Every faked Google Cloud HTTP exchange, held to the API's own discovery document.

The documents are the ones google-api-python-client ships (`discovery_cache/documents/`,
pinned in the `dev` extra). After each test, every call a `responses` mock answered for a
`*.googleapis.com` host is matched to the one method of the documents whose HTTP method and
path template it fits; its query parameters must be that method's (or the standard ones), its
JSON request body and a successful JSON response must hold only fields the method's schemas
name, at every depth. A call no method fits, or a field Google does not define, fails the test:
a fixture Google could not have sent proves nothing about lapse.

Error answers (4xx, 5xx) are held to Google's error envelope; bodies that are not JSON (an
HTML 502, a cut-off answer) and raised faults are the fault tests' business and pass as sent.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import responses

DOCUMENTS = (
    "admin.directory_v1",
    "admin.reports_v1",
    "bigquery.v2",
    "chat.v1",
    "cloudresourcemanager.v1",
    "cloudresourcemanager.v3",
    "iam.v1",
    "iamcredentials.v1",
    "logging.v2",
    "run.v2",
    "secretmanager.v1",
    "storage.v1",
    "sts.v1",
)
# Parameters Google documents outside the discovery document: an incoming webhook's URL carries
# its `token` (developers.google.com/workspace/chat/quickstart/webhooks).
_BEYOND_DOCUMENT = {"chat.spaces.messages.create": frozenset({"token"})}
# Google's error envelope (google.rpc.Status as JSON, with the legacy `errors` list).
_ERROR_FIELDS = {"code", "message", "status", "details", "errors"}


@dataclass(frozen=True)
class Method:
    document: str
    id: str
    http_method: str
    pattern: re.Pattern[str]
    literal: int  # how much of the template is literal: the most specific match wins
    query: frozenset[str]
    request: str
    response: str


@dataclass
class Exchange:
    method: str
    url: str
    body: bytes | str | None
    status: int | None
    response: str | None


@cache
def _documents() -> dict[str, dict[str, Any]]:
    import googleapiclient  # a test-only dependency, loaded when first needed

    folder = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    return {name: json.loads((folder / f"{name}.json").read_text()) for name in DOCUMENTS}


def _methods_of(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from resource.get("methods", {}).values()
    for child in resource.get("resources", {}).values():
        yield from _methods_of(child)


def _template(base: str, path: str) -> tuple[re.Pattern[str], int]:
    parts, literal, index = [], 0, 0
    for found in re.finditer(r"\{(\+?)([^}]+)\}", path):
        text = path[index : found.start()]
        parts.append(re.escape(text))
        literal += len(text)
        parts.append(".+" if found.group(1) else "[^/]+")
        index = found.end()
    parts.append(re.escape(path[index:]))
    literal += len(path) - index
    return re.compile("^" + re.escape(base) + "".join(parts) + "$"), literal


@cache
def methods() -> tuple[Method, ...]:
    found = []
    for name, document in _documents().items():
        base = document["rootUrl"].split("://", 1)[1] + document["servicePath"]
        standard = set(document.get("parameters", {}))
        for method in _methods_of(document):
            query = {
                key for key, value in method.get("parameters", {}).items()
                if value.get("location") == "query"
            }  # fmt: skip
            # `flatPath` names each segment; `path` may fold them into one `{+name}`.
            for path in (method.get("flatPath", method["path"]),):
                pattern, literal = _template(base, path)
                found.append(
                    Method(
                        name,
                        method["id"],
                        method["httpMethod"],
                        pattern,
                        literal,
                        frozenset(query | standard),
                        method.get("request", {}).get("$ref", ""),
                        method.get("response", {}).get("$ref", ""),
                    )
                )
    return tuple(found)


def match(http_method: str, url: str) -> Method | None:
    parts = urlsplit(url)
    where = f"{parts.hostname}{unquote(parts.path)}"
    fitting = [
        m for m in methods() if m.http_method == http_method.upper() and m.pattern.match(where)
    ]
    return max(fitting, key=lambda m: m.literal, default=None)


def unknown_fields(document: str, schema: dict[str, Any], value: Any, where: str) -> list[str]:
    """Every field of `value` that `schema` (of `document`) does not define."""
    schemas = _documents()[document]["schemas"]
    if "$ref" in schema:
        return unknown_fields(document, schemas[schema["$ref"]], value, where)
    kind = schema.get("type")
    if kind == "any" or value is None:
        return []
    if kind == "array" and isinstance(value, list):
        item = schema.get("items", {})
        return [
            p
            for i, v in enumerate(value)
            for p in unknown_fields(document, item, v, f"{where}[{i}]")
        ]
    if kind == "object" and isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        problems = []
        for key, inner in value.items():
            if key in properties:
                problems += unknown_fields(document, properties[key], inner, f"{where}.{key}")
            elif extra is not None:
                problems += unknown_fields(document, extra, inner, f"{where}.{key}")
            else:
                problems.append(f"{where}.{key}")
        return problems
    if kind == "object" or kind == "array":
        return [f"{where} is {type(value).__name__}, not {kind}"]
    if isinstance(value, (dict, list)):
        return [f"{where} is {type(value).__name__}, not {kind}"]
    return []


def _json(text: bytes | str | None) -> Any:
    if text in (None, b"", ""):
        return None
    try:
        return json.loads(text)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return _NOT_JSON


_NOT_JSON = object()


def problems_of(exchange: Exchange) -> list[str]:
    """What Google's documents say the exchange could not have been."""
    method = match(exchange.method, exchange.url)
    label = f"{exchange.method} {exchange.url.split('?')[0]}"
    if method is None:
        return [f"{label}: no method of Google's discovery documents has this path"]
    problems = []
    query = {key for key, _ in parse_qsl(urlsplit(exchange.url).query, keep_blank_values=True)}
    problems += [
        f"{label} ({method.id}): query parameter {q!r}"
        for q in sorted(query - method.query - _BEYOND_DOCUMENT.get(method.id, frozenset()))
    ]
    body = _json(exchange.body)
    if body is _NOT_JSON:
        problems.append(f"{label} ({method.id}): the request body is not JSON")
    elif body is not None:
        if not method.request:
            problems.append(f"{label} ({method.id}): takes no request body")
        else:
            schema = {"$ref": method.request}
            problems += [
                f"{label} ({method.id}): request field {p}"
                for p in unknown_fields(method.document, schema, body, method.request)
            ]
    answer = _json(exchange.response)
    if exchange.status is None or answer is _NOT_JSON or answer is None:
        return problems
    if exchange.status >= 400:
        error = answer.get("error") if isinstance(answer, dict) else None
        if not isinstance(answer, dict) or set(answer) != {"error"} or not isinstance(error, dict):
            problems.append(f"{label}: a {exchange.status} answer not in Google's error envelope")
        else:
            problems += [
                f"{label}: error field {key!r}" for key in sorted(set(error) - _ERROR_FIELDS)
            ]
        return problems
    if method.response:
        schema = {"$ref": method.response}
        problems += [
            f"{label} ({method.id}): response field {p}"
            for p in unknown_fields(method.document, schema, answer, method.response)
        ]
    elif answer != {}:
        problems.append(f"{label} ({method.id}): answers with an empty body")
    return problems


def is_google(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host.endswith(".googleapis.com") and host != "oauth2.googleapis.com"


# Every exchange checked in this process, by method id: what the suite covers. With
# LAPSE_CONTRACT_REPORT set, each process writes its counts to that path (plus a suffix).
COVERED: dict[str, int] = {}


@pytest.fixture(autouse=True, scope="session")
def contract_report() -> Iterator[None]:
    yield
    target = os.environ.get("LAPSE_CONTRACT_REPORT")
    if target:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        Path(f"{target}.{worker}.json").write_text(json.dumps(COVERED, indent=1, sort_keys=True))


@pytest.fixture(autouse=True)
def google_contract(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Exchange]]:
    """Records every exchange any `responses` mock answers; checks the Google ones after."""
    seen: list[Exchange] = []
    original = responses.RequestsMock._on_request

    def recording(self: Any, adapter: Any, request: Any, **kwargs: Any) -> Any:
        exchange = Exchange(str(request.method), str(request.url), request.body, None, None)
        seen.append(exchange)
        response = original(self, adapter, request, **kwargs)
        exchange.status = response.status_code
        exchange.response = response.text if _is_text(response) else None
        return response

    monkeypatch.setattr(responses.RequestsMock, "_on_request", recording)
    yield seen
    problems = []
    for exchange in seen:
        if not is_google(exchange.url):
            continue
        method = match(exchange.method, exchange.url)
        if method is not None:
            COVERED[method.id] = COVERED.get(method.id, 0) + 1
        problems += problems_of(exchange)
    assert not problems, "Google could not have sent or accepted:\n" + "\n".join(
        dict.fromkeys(problems)
    )


def _is_text(response: Any) -> bool:
    try:
        return isinstance(response.text, str)
    except Exception:  # a raised body is a fault, not an answer
        return False
