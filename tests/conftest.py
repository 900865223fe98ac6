"""Suite-wide fixtures.

Every test runs with `responses` active, so a stray real HTTP call fails loudly instead of
reaching the network, and every answer a test registers must be asked for: an answer left
unused means the code skipped a call the test expected (a second page, a team lookup).
`tests.support.answers_may_go_unused` relaxes that for fakes that serve every route.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from tests.github_contract import github_contract  # noqa: F401  (autouse: GitHub's contract)


@pytest.fixture(autouse=True)
def http() -> Iterator[responses.RequestsMock]:
    """The suite's HTTP mock; tests register expected calls with `http.add(...)`."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture(autouse=True, scope="session")
def local_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """lapse's local cache, for this session only (commands run as subprocesses inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAPSE_CACHE_DIR", str(tmp_path_factory.mktemp("lapse-cache")))
        yield
