"""A structured answer for the browser test (``THREADCAST_RESPONSE_FORMAT``)."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["Forecast"]


class Forecast(BaseModel):
    summary: str
    celsius: float
    rain_expected: bool
