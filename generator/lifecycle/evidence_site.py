"""The evidence pack as files: a static site, CSV, JSON and a manifest of their sha256.

Every page is self-contained (its style inline under a Content-Security-Policy that allows no
script, font or fetch), opens from the file system, and links only to pages of the pack. The
pages are rendered with jinja2, autoescaped: everything shown comes from request files,
reports or issues, which anyone who can open a pull request or an issue may have written. CSV
cells that a spreadsheet would run as a formula are prefixed with `'`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
import orjson

from generator.core import pages

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "evidence"
MANIFEST = "manifest.json"
WIDTH, ROW, TOP, PAD = 640, 16, 30, 10
ROWS_DRAWN = 24
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def files(pack: dict[str, Any]) -> dict[str, bytes]:
    """Path in the pack -> its bytes, the manifest last (it hashes all the others)."""
    env = _environment()
    style = (TEMPLATES / "style.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    common = {"pack": pack, "style": style, "style_hash": f"sha256-{digest}"}
    out: dict[str, bytes] = {
        "index.html": env.get_template("index.html.j2").render(common, root="").encode(),
    }
    for grant in pack["grants"]:
        page = env.get_template("grant.html.j2").render(
            common, root="../", grant=grant, timeline=timeline(grant)
        )
        out[grant["page"]] = page.encode()
    out["grants.csv"] = _csv(
        ["target", "id", "emergency", "requester", "ticket", "starts", "expires", "verdict",
         "sign_off", "incidents", "page"],
        [
            [g["target"], g["id"], g["emergency"], g["requester"], g["ticket"], g["starts"] or "",
             g["expires"], g["review"]["verdict"], g["sign_off"], len(g["incidents"]), g["page"]]
            for g in pack["grants"]
        ],
    )  # fmt: skip
    out["requirements.csv"] = _csv(
        ["requirement", "what", "evidence"],
        [
            [r["requirement"], r["what"], " ".join(f"index.html#{s}" for s in r["sections"])]
            for r in pack["requirements"]
        ],
    )
    out["evidence.json"] = orjson.dumps(pack, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    out[MANIFEST] = manifest(pack, out)
    return out


def manifest(pack: dict[str, Any], out: dict[str, bytes]) -> bytes:
    data = {
        "schema": pack["schema"],
        "commit": pack["commit"],
        "period": pack["period"],
        "files": {
            name: hashlib.sha256(content).hexdigest() for name, content in sorted(out.items())
        },
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def timeline(grant: dict[str, Any]) -> dict[str, Any]:
    """The grant's window and each action's first-to-last span, laid out for an inline SVG."""
    expires = _instant(grant["expires"])
    assert expires is not None  # written by format_utc
    starts = _instant(grant["starts"] or "") or _instant((grant["applied"] or {}).get("at", ""))
    actions = [
        (a, _instant(a["first"]), _instant(a["last"]), after)
        for after, listing in ((False, grant["actions"]), (True, grant["actions_after"]))
        for a in listing
    ]
    moments = [m for _, first, last, _ in actions for m in (first, last) if m is not None]
    begin = min([starts or expires - timedelta(hours=1), *moments])
    end = max([expires, *moments])
    span = max((end - begin).total_seconds(), 60.0)

    def x(moment: datetime) -> float:
        return round(PAD + (moment - begin).total_seconds() / span * (WIDTH - 2 * PAD), 1)

    rows = []
    for n, (action, first, last, after) in enumerate(actions[:ROWS_DRAWN]):
        left = x(first or begin)
        right = x(last or first or begin)
        outside = after or (first is not None and (first < (starts or begin) or first > expires))
        rows.append(
            {
                "y": TOP + n * ROW,
                "x": left,
                "w": max(right - left, 3.0),
                "label": f"{action['method']} x{action['count']}",
                "outside": outside,
                "denied": action["denied"] > 0,
            }
        )
    window_left = x(starts or begin)
    return {
        "width": WIDTH,
        "height": TOP + max(len(rows), 1) * ROW + PAD,
        "window": {"x": window_left, "w": max(x(expires) - window_left, 3.0)},
        "rows": rows,
        "more": max(len(actions) - ROWS_DRAWN, 0),
        "begin": begin.strftime("%Y-%m-%d %H:%M"),
        "end": end.strftime("%Y-%m-%d %H:%M"),
    }


def _instant(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return moment if moment.tzinfo is not None else None


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_cell(value) for value in row] for row in rows])
    return buffer.getvalue().encode()


def _cell(value: Any) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _environment() -> jinja2.Environment:
    return pages.environment(TEMPLATES)
