"""FSM states: only where free text must be typed (a time, a time zone); buttons stay stateless."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class TextInput(StatesGroup):
    time = State()  # data: mode, day, flow
    zone = State()  # data: flow
