"""One Settings object for the whole hub (env prefix ENFORCEHUB_, an optional TOML config file).

Nothing happens at import time: `Settings()` is built by the command or the app's lifespan.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from enforcehub.errors import EnforcehubError

DEV_SECRET = "dev-insecure-signing-secret"


class SettingsError(EnforcehubError):
    code = "settings-invalid"


class Settings(BaseSettings):
    """Where the hub keeps its data, who it is, and how it talks to the world."""

    model_config = SettingsConfigDict(env_prefix="ENFORCEHUB_", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Options, then ENFORCEHUB_* variables, then the TOML file named by ENFORCEHUB_CONFIG (optional)."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("ENFORCEHUB_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)

    data_dir: Path = Path("enforcehub-data")
    database_url: str | None = Field(
        default=None, description="postgresql+psycopg://… ; default: SQLite in data_dir"
    )
    hub_id: str = "gd-province"
    level: Literal["province", "city"] = "province"
    region: str = "440000"
    environment: Literal["development", "production", "test"] = "development"
    signing_secret: str = DEV_SECRET
    max_upload_mb: int = 2048
    max_json_mb: int = 64
    background_rows: int = 20_000  # submissions above this many bytes/rows go to the background worker
    host: str = "127.0.0.1"
    port: int = 8000
    # Sharing: the delivery worker runs inside `serve` unless turned off (then run `enforcehub worker`).
    worker: bool = True
    # Webhook targets on private, loopback or link-local addresses are refused unless listed here
    # (CIDR networks, e.g. ["127.0.0.0/8"] for a receiver on the same machine).
    webhook_allow_networks: list[str] = Field(default_factory=list)
    webhook_timeout_s: float = 10.0
    webhook_retry_hours: float = 72.0  # retries for about three days, then the dead-letter list
    publicity_rate_per_minute: int = 120  # the public portal's limit per client address
    # Federation (docs/federation.md): a city hub relays what it accepts to its upstream province hub
    # with a `hub` key the province issued for this city's region (key name = this hub's hub_id).
    upstream_url: str | None = None
    upstream_key: str | None = None
    relay_batch_rows: int = Field(default=20_000, ge=1, le=100_000)
    # a relayed body is processed before the answer whatever its size, up to max_json_mb
    relay_batch_bytes: int = Field(default=32 << 20, ge=64 << 10, le=60 << 20)
    relay_idle_s: float = 0.5  # how often a caught-up relay looks for new changes
    registries_every_s: float = 30.0  # how often a city reads the province's registries
    relay_max_backoff_s: float = Field(default=60.0, gt=0)  # retries after failures: 1 s doubling to this

    @field_validator("region")
    @classmethod
    def _region_is_a_division(cls, value: str) -> str:
        if not re.fullmatch(r"44\d{4}", value):
            raise ValueError("region must be a 6-digit Guangdong division code (440000, 440100, …)")
        return value

    @model_validator(mode="after")
    def _upstream_needs_a_key(self) -> Settings:
        if self.upstream_url and not self.upstream_key:
            raise ValueError("ENFORCEHUB_UPSTREAM_URL needs ENFORCEHUB_UPSTREAM_KEY (the province's hub key)")
        if self.upstream_url and not re.match(r"^https?://", self.upstream_url):
            raise ValueError("upstream_url must be an http(s) URL")
        return self

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.signing_secret == DEV_SECRET:
            raise ValueError("ENFORCEHUB_SIGNING_SECRET must be set in production")
        return self

    @property
    def url(self) -> str:
        """The SQLAlchemy URL: the configured one, or SQLite (WAL) in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+pysqlite:///{(self.data_dir / 'enforcehub.sqlite3').resolve()}"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")
