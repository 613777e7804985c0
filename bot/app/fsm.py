"""aiogram's FSM storage on the database (storage.conversations): typed-input state survives a
restart and is the same for every process sharing the database."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.domain import DialogKey
from storage.port import DialogStore


def dialog_key(key: StorageKey) -> DialogKey:
    return DialogKey(
        bot_id=key.bot_id,
        chat_id=key.chat_id,
        user_id=key.user_id,
        thread_id=key.thread_id or 0,
        business_connection_id=key.business_connection_id or "",
        destiny=key.destiny,
    )


class DatabaseStorage(BaseStorage):
    """State and data per StorageKey in `fsm_states`; a stale dialog (DialogStore.ttl) reads as none.

    Data must be JSON (the handlers keep strings and numbers in it).
    """

    def __init__(self, dialogs: DialogStore, clock: Callable[[], datetime]) -> None:
        self.dialogs = dialogs
        self.clock = clock

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name = state.state if isinstance(state, State) else state
        await self.dialogs.set_state(dialog_key(key), name, now=self.clock())

    async def get_state(self, key: StorageKey) -> str | None:
        return await self.dialogs.state(dialog_key(key), now=self.clock())

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(
                f"Data must be a dict or dict-like object, got {type(data).__name__}"
            )
        await self.dialogs.set_data(dialog_key(key), data, now=self.clock())

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self.dialogs.data(dialog_key(key), now=self.clock())

    async def close(self) -> None:
        """The database belongs to the composition root, which closes it."""
