"""Why a run (or one step of it) failed."""

from __future__ import annotations

from pydantic import BaseModel


class RunError(BaseModel):
    """Why a run failed: the executor (if one failed), the exception type and its message."""

    executor_id: str | None = None
    type: str
    message: str

    def __str__(self) -> str:
        where = f"executor {self.executor_id!r} failed: " if self.executor_id else ""
        return f"{where}{self.type}: {self.message}"
