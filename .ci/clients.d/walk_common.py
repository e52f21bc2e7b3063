"""What both Python walks share: the server and token from the environment, and one way to
insist on a status and a parsed type."""

import os
from typing import Any, TypeVar

T = TypeVar("T")

BASE = os.environ["CLIENT_BASE"]
TOKEN = os.environ["CLIENT_TOKEN"]


def expect(response: Any, status: int, kind: type[T]) -> T:
    """The parsed body of `response`, which must have `status` and parse as `kind`."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.content!r}"
    parsed = response.parsed
    assert isinstance(parsed, kind), f"expected a {kind.__name__}, got {parsed!r}"
    return parsed


def etag(response: Any) -> str:
    """The response's ETag: a quoted record version."""
    tag = str(response.headers["etag"])
    assert tag.startswith('"') and tag.endswith('"') and tag[1:-1].isdigit(), tag
    return tag
