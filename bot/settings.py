"""Typed settings from the environment or `.env` (names are the operator contract: scripts rely on them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class StartupError(RuntimeError):
    """An operator mistake that stops `run` (found at startup, or a 409 Conflict while polling:
    another process with the same token); its message is the one line to print."""


class Settings(BaseSettings):
    """Built once in `main()`; never read at import time."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    admin_chat_id: int | None = None
    database_path: Path = Path("data/diplodigest.sqlite3")
    database_url: str | None = None  # sqlite:///path or postgresql://…; wins over DATABASE_PATH
    telegram_api_url: str = "https://api.telegram.org"
    feeds_allow_private: bool = False
    poll_interval_minutes: int = Field(default=10, ge=1, le=24 * 60)
    default_timezone: str = "Europe/Moscow"
    delivery_rate: float = Field(default=25.0, ge=0)
    # several processes on PostgreSQL: how long a claimed message or feed is left to its taker
    # before another process may take it over (a taker killed mid-send)
    delivery_claim_seconds: int = Field(default=120, ge=5, le=3600)
    topics_catalog_path: Path | None = None
    sources_path: Path | None = None
    retention_days: int = Field(default=365, ge=7)
    scheduler_tick_seconds: int = Field(default=60, ge=1, le=3600)
    log_level: str = "INFO"
    telegram_mode: str = "polling"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1:8080"

    @field_validator("bot_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "admin_chat_id",
        "topics_catalog_path",
        "sources_path",
        "webhook_url",
        "webhook_secret",
        "database_url",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _known_engine(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(
            ("sqlite:///", "postgresql://", "postgres://", "postgresql+asyncpg://")
        ):
            raise ValueError(
                "DATABASE_URL must look like sqlite:///path/file.sqlite3"
                " or postgresql://user:password@host:port/dbname"
            )
        return value

    @property
    def database(self) -> str | Path:
        """Where the data lives: DATABASE_URL when set, else the SQLite file DATABASE_PATH."""
        return self.database_url or self.database_path

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            try:
                return frozenset(int(p) for p in parts if p)
            except ValueError as exc:
                raise ValueError(
                    "ADMIN_IDS must be comma-separated numeric Telegram user ids"
                ) from exc
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("default_timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"DEFAULT_TIMEZONE {value!r} is not an IANA time zone") from exc
        return value
