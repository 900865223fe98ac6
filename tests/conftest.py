"""Suite-wide fixtures.

Every test runs with `responses` active, so a stray real HTTP call fails loudly instead of
reaching the network, and every answer a test registers must be asked for: an answer left
unused means the code skipped a call the test expected (a second page, a team lookup).
`tests.support.answers_may_go_unused` relaxes that for fakes that serve every route.

Property searches run short by default and at full length with LAPSE_TEST_PROFILE=ci
(tests/lanes.py); the profile is loaded here, before any test module defines its settings.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from tests import lanes
from tests.github_contract import github_contract  # noqa: F401 - autouse
from tests.google_contract import contract_report, google_contract  # noqa: F401 - autouse

try:
    lanes.load()
except ValueError as error:
    raise pytest.UsageError(str(error)) from None


@pytest.fixture(autouse=True)
def http() -> Iterator[responses.RequestsMock]:
    """The suite's HTTP mock; tests register expected calls with `http.add(...)`."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture(autouse=True, scope="session")
def local_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """lapse's local cache, for this session only (commands run as subprocesses inherit it);
    tables unfolded, whatever width the shell running the tests exports."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAPSE_CACHE_DIR", str(tmp_path_factory.mktemp("lapse-cache")))
        patch.delenv("COLUMNS", raising=False)
        yield


def pytest_runtest_setup(item: pytest.Item) -> None:
    """In the default lane, a search longer than lanes.SHORT or not derandomized fails: its
    count goes through `lanes.examples(full)`, so CI still runs it at full length."""
    found = getattr(getattr(item, "obj", None), "_hypothesis_internal_use_settings", None)
    if lanes.FULL or found is None:
        return
    if found.max_examples > lanes.SHORT or not found.derandomize:
        pytest.fail(
            f"a search of {found.max_examples} examples, derandomize={found.derandomize}: the"
            f" default lane runs at most {lanes.SHORT}, derandomized (tests.lanes.examples)",
            pytrace=False,
        )
