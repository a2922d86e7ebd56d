"""A chat completion streamed (``stream=True``): each delta of the model's text written to the step's
stream as it arrives, the chunks gathered back into the ``ChatCompletion`` the loop takes in."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionChunk

from engine.core.streams import StreamWriter


class Gathered:
    """The chunks of one streamed completion, gathered: its text, refusal, tool calls, finish and usage."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.created = 0
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.chunks = 0

    def add(self, chunk: ChatCompletionChunk) -> str:
        """Take in one chunk; the text it adds to the answer (empty: none)."""
        self.chunks += 1
        self.id, self.model, self.created = chunk.id, chunk.model, chunk.created
        if chunk.usage is not None:
            self.usage = chunk.usage.model_dump()
        text = ""
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.content:
                self.content.append(delta.content)
                text += delta.content
            if delta.refusal:
                self.refusal.append(delta.refusal)
            for call in delta.tool_calls or []:
                slot = self.calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                if call.id:
                    slot["id"] = call.id
                if call.function is not None:
                    slot["name"] += call.function.name or ""
                    slot["arguments"] += call.function.arguments or ""
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return text

    def completion(self) -> ChatCompletion:
        """The completion the chunks make up (no choice when the model finished none)."""
        choices: list[dict[str, Any]] = []
        if self.finish_reason is not None:
            message: dict[str, Any] = {
                "role": "assistant",
                "content": "".join(self.content) if self.content else None,
                "refusal": "".join(self.refusal) if self.refusal else None,
            }
            if self.calls:
                message["tool_calls"] = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["arguments"]},
                    }
                    for _, c in sorted(self.calls.items())
                ]
            choices.append({"index": 0, "message": message, "finish_reason": self.finish_reason})
        return ChatCompletion.model_validate(
            {
                "id": self.id,
                "object": "chat.completion",
                "created": self.created,
                "model": self.model,
                "choices": choices,
                "usage": self.usage,
            }
        )


async def gather_stream(chunks: AsyncIterable[ChatCompletionChunk], writer: StreamWriter) -> ChatCompletion:
    """Read a streamed completion to its end, writing its text to ``writer`` as it comes."""
    gathered = Gathered()
    async for chunk in chunks:
        text = gathered.add(chunk)
        if text:
            await writer.write(text)
    return gathered.completion()


__all__ = ["Gathered", "gather_stream"]
