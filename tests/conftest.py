"""Fixtures shared by every test suite."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A name unique to this test run, usable as a Kafka topic, group or Redis key part.

    Only ``[a-z0-9-]`` characters; starts with ``t-`` and the test's function name.
    """
    stem = "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:40]
    return f"t-{stem.strip('-')}-{uuid.uuid4().hex[:12]}"
