"""The Lua scripts build no key name and make every Redis call through ``call``.

That they touch only declared keys is checked on a real Redis by
``tests/integration/test_redis_keys_declared.py``; here the text itself.
"""

from __future__ import annotations

import re

import pytest

from ioc_monitor.redis.scripts import APPLY_LUA, CALL_LINE, READ_LUA

SCRIPTS = {"apply": APPLY_LUA, "read": READ_LUA}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_every_call_goes_through_the_first_line(name: str) -> None:
    first, _, body = SCRIPTS[name].partition("\n")
    assert first == CALL_LINE == "local call = redis.call"
    assert "redis." not in body
    assert "call(" in body


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_no_key_name_is_spelled_in_lua(name: str) -> None:
    literals = re.findall(r"'([^']*)'", SCRIPTS[name])
    assert literals  # the command names at least
    assert [s for s in literals if ":" in s or "{" in s] == []  # no part of a key name
    assert "tag" not in SCRIPTS[name]
