"""API keys in the core: bound to one existing account, unbound only by that account's command;
both journaled, so replay and snapshots restore exactly the keys that were bound."""

from __future__ import annotations

import base64

from rucksack.exchange.core.commands import AddApiKey, CreateAccount, RemoveApiKey
from rucksack.exchange.core.events import ApiKeyAdded, ApiKeyRejected, ApiKeyRemoved
from rucksack.exchange.core.state import restore, take_snapshot
from tests.conftest import Driver

KEY = base64.b64encode(bytes(range(32))).decode()


def test_add_and_remove_a_key(driver: Driver) -> None:
    driver(CreateAccount("main"))
    main = driver.engine.next_account_id - 1
    driver(CreateAccount("sub", parent=main))
    sub = main + 1
    assert isinstance(driver(AddApiKey(sub, KEY))[0], ApiKeyAdded)
    assert driver.engine.api_keys == {KEY: sub}
    wrong = driver(RemoveApiKey(main, KEY))[0]  # bound to another account: refused, nothing changes
    assert isinstance(wrong, ApiKeyRejected) and wrong.reason == "UnknownKey"
    assert driver.engine.api_keys == {KEY: sub}
    restored = restore(driver.spec, take_snapshot(driver.engine))
    assert restored.api_keys == {KEY: sub}
    assert isinstance(driver(RemoveApiKey(sub, KEY))[0], ApiKeyRemoved)
    assert driver.engine.api_keys == {}
    again = driver(RemoveApiKey(sub, KEY))[0]
    assert isinstance(again, ApiKeyRejected) and again.reason == "UnknownKey"
