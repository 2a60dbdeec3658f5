"""Ids and clocks of the objects the endpoints answer with."""

from __future__ import annotations

import time
import uuid


def new_id(prefix: str, separator: str = "-") -> str:
    """OpenAI's chat and completion ids join with "-", the Responses API's with "_"."""
    return f"{prefix}{separator}{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())
