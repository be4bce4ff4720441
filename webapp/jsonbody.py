"""Reading JSON from outside with limits: a body nested deeper than MAX_DEPTH is refused, never
handed on (a recursive walk of it, or the parser itself, would raise RecursionError: a 500).
Every endpoint that reads a JSON body reads it through loads()."""
from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # no provider, platform or API client sends anything near this


class JSONBodyError(ValueError):
    """Not JSON, or nested too deeply; the message says which, for a 400."""


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    try:
        value = json.loads(data)
    except RecursionError:
        raise JSONBodyError(f"JSON nested deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise JSONBodyError(f"not valid JSON: {error}") from None
    if _depth(value, max_depth) > max_depth:
        raise JSONBodyError(f"JSON nested deeper than {max_depth} levels")
    return value


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of containers, iteratively (no recursion to exhaust), stopping past `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return depth
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest
