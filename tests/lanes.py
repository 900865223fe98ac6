"""How long the property searches run: two lanes, chosen by LAPSE_TEST_PROFILE.

`default` (unset): every search runs at most SHORT examples, derandomized, so a local run is
quick and tries the same examples each time. `ci` (what `.ci/run` sets): every search runs at
the length its test names, derandomized too (Hypothesis's own `ci` profile), so a red build
means a change broke something, never bad luck. `bench/fuzz.py` is the randomized, longer
search. A test whose full search takes seconds also carries the `slow` marker (`-m slow`).
A test that opens pages in the system's Chromium carries the `browser` marker (`-m browser`):
without Chromium it is skipped in the default lane and fails in the ci lane or under CI=true.
"""

from __future__ import annotations

import os

from hypothesis import settings

SHORT = 50
PROFILES = ("default", "ci")
PROFILE = os.environ.get("LAPSE_TEST_PROFILE", "default")
FULL = PROFILE == "ci"


def examples(full: int) -> int:
    """A search's example count: `full` in the ci lane, at most SHORT in the default one."""
    return full if FULL else min(full, SHORT)


def load() -> None:
    """Select the lane's Hypothesis profile; run before any test module is imported, since a
    test's `@settings` takes what it leaves unset from the profile loaded at that moment."""
    if PROFILE not in PROFILES:
        raise ValueError(f"LAPSE_TEST_PROFILE={PROFILE!r}: expected one of {', '.join(PROFILES)}")
    # No deadline in either lane: parallel workers share the cores, so timings are noise.
    settings.register_profile("lapse-default", max_examples=SHORT, derandomize=True, deadline=None)
    settings.register_profile("lapse-ci", settings.get_profile("ci"))
    settings.load_profile(f"lapse-{PROFILE}")
