"""How an agent's input becomes its prompt.

The default puts the input, as indented JSON, under a ``## Input (<type>)`` heading in the user message,
with the agent's instructions as the system message. JSON is what the model will also be asked to write,
field names carry meaning, and the heading keeps the data apart from anything an override adds. A plain
string input is placed under the heading as it is.

Override with ``Agent(render=callable)`` (message -> user text), or subclass ``Agent`` and override
``render_input`` (same) or ``build_messages`` (the whole message list).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

Render = Callable[[Any], str]


def render_json(message: Any, adapter: TypeAdapter[Any], input_type: Any) -> str:
    """The default rendering of ``message`` (an instance of ``input_type``)."""
    heading = f"## Input ({type_title(input_type)})"
    if isinstance(message, str):
        return f"{heading}\n\n{message}"
    body = adapter.dump_json(message, indent=2).decode()
    return f"{heading}\n\n```json\n{body}\n```"


def type_title(tp: Any) -> str:
    """``Ticket``, ``list[Ticket]``: a type as a reader would write it, without module paths."""
    if isinstance(tp, type) and not getattr(tp, "__args__", None):
        return tp.__name__
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])", "", str(tp))


def chat_messages(instructions: str, user_text: str) -> list[dict[str, Any]]:
    """System instructions, then the rendered input: the start of every conversation."""
    return [
        {"role": "system", "content": instructions},
        {"role": "user", "content": user_text},
    ]
