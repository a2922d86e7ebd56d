"""What the offline model knows from a conversation: the input's fields and the tools' answers.

The offline model (``engine.agents.offline``) has no understanding, only facts: the JSON of the rendered
input (``prompt.render_json`` puts it in a fenced block) and each tool's answer (JSON, or text). It fills
a field of the same name with a fact that fits, and writes text from them, so a tool's arguments come
from the input and earlier answers, and a final answer repeats what the tools said.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_FENCED = re.compile(r"```json\n(.*?)\n```", re.DOTALL)
_SUBJECT_NAMES = ("order_id", "id", "title", "name", "subject", "topic", "employee", "customer")
MAX_DETAILS = 4


@dataclass(frozen=True, slots=True)
class Facts:
    """Named values (the input's, then the tools'), and the tools' answers in the order they came."""

    named: dict[str, Any] = field(default_factory=dict)
    subject: str | None = None
    inputs: tuple[tuple[str, Any], ...] = ()
    answers: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, messages: Sequence[Mapping[str, Any]]) -> Facts:
        named: dict[str, Any] = {}
        inputs: list[tuple[str, Any]] = []
        answers: list[tuple[str, Any]] = []
        tools_by_call: dict[str, str] = {}
        for message in messages:
            role = message.get("role")
            if role == "user":
                data = _input_json(str(message.get("content") or ""))
                if isinstance(data, dict):
                    inputs += list(_scalars(data))
            elif role == "assistant":
                for call in message.get("tool_calls") or []:
                    tools_by_call[call.get("id", "")] = call.get("function", {}).get("name", "tool")
            elif role == "tool":
                tool = tools_by_call.get(str(message.get("tool_call_id")), "tool")
                answers.append((tool, _parsed(str(message.get("content") or ""))))
        for name, value in inputs:
            named.setdefault(name, value)
        for _, answer in answers:  # a tool's answer is newer than the input: it wins
            if isinstance(answer, dict):
                named.update(dict(_scalars(answer)))
        subject = next((f"{_label(n)} {named[n]}" for n in _SUBJECT_NAMES if n in dict(inputs)), None)
        return cls(named, subject, tuple(inputs), tuple(answers))

    def value(self, name: str) -> Any:
        """The newest fact named ``name`` (None when there is none)."""
        return self.named.get(name)

    def details(self) -> str:
        """The input's other facts and the tools' answers, as a clause: ``reason Wrong size; lookup: ...``."""
        parts = [f"{_label(n)} {_shown(v)}" for n, v in self.inputs if f"{_label(n)} {v}" != self.subject]
        parts = parts[:MAX_DETAILS]
        parts += [f"{tool}: {_answer_text(answer)}" for tool, answer in self.answers]
        return "; ".join(parts)


def _input_json(text: str) -> Any:
    found = _FENCED.search(text)
    if found is None:
        return None
    try:
        return json.loads(found.group(1))
    except json.JSONDecodeError:
        return None


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _scalars(data: Mapping[str, Any], depth: int = 0) -> Iterator[tuple[str, Any]]:
    """``(name, value)`` of every scalar of ``data``, nested objects' included (their own names)."""
    for name, value in data.items():
        if isinstance(value, str | int | float | bool):
            yield str(name), value
        elif isinstance(value, Mapping) and depth < 2:
            yield from _scalars(value, depth + 1)


def _label(name: str) -> str:
    return name.replace("_", " ").strip()


def _shown(value: Any, limit: int = 80) -> str:
    text = str(value).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _answer_text(answer: Any) -> str:
    if isinstance(answer, dict):
        scalars = [f"{_label(n)} {_shown(v)}" for n, v in _scalars(answer)][:MAX_DETAILS]
        return ", ".join(scalars) or "nothing"
    return _shown(answer, 200).rstrip(".")


def humanized(name: str) -> str:
    """``message_to_customer`` -> ``Message to customer``."""
    words = _label(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)).lower()
    return words[:1].upper() + words[1:] if words else "Text"


__all__ = ["Facts", "humanized"]
