"""The pytest plugin (entry point ``pytest11``): a fresh :class:`FakeOfficeRND` per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .emulator import FakeOfficeRND


@pytest.fixture
def officernd_fake() -> Iterator[FakeOfficeRND]:
    """A running FakeOfficeRND on 127.0.0.1 with the sample ``acme`` organisation loaded.

    Register an application with ``officernd_fake.add_app(scopes)`` and point a client at
    ``officernd_fake.token_url`` and ``officernd_fake.api_url``.
    """
    with FakeOfficeRND() as fake:
        fake.seed_sample()
        yield fake
