"""The one strict base of every typed config: unknown fields are errors (a typo in a spec names the bad field) and
validated configs are frozen, so what was checked on the driver is what runs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


__all__ = ["StrictConfig"]
