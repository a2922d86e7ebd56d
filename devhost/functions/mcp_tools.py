"""The app's MCP tool functions (``mcpToolTrigger``, the host's MCP extension): each tool as ``tools/list``
shows it, and a call's trigger payload and result as the extension passes them.

The trigger declares ``toolName``, ``description`` and ``toolProperties`` (JSON: a list of
``{propertyName, propertyType, description, isRequired, isArray}``); the extension offers the tool with an
input schema built from those properties. A call invokes the function with the context as JSON text:
``{"name", "arguments", "sessionid", "transport"}``. The function returns text (a text content block), or,
with ``useResultSchema``, the worker's ``{"type": "call_tool_result", "content": "<CallToolResult JSON>"}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mcp import types
from pydantic import BaseModel, ConfigDict, ValidationError

from devhost.config.errors import DevHostError

_TYPES = {"string", "number", "integer", "boolean", "object"}


class ToolProperty(BaseModel):
    """One entry of a trigger's ``toolProperties``."""

    model_config = ConfigDict(extra="ignore")

    propertyName: str
    propertyType: str = "string"
    description: str | None = ""
    isRequired: bool = False
    isArray: bool = False

    def schema(self) -> dict[str, Any]:
        """The property in the tool's JSON input schema."""
        kind = self.propertyType if self.propertyType in _TYPES else "string"
        item: dict[str, Any] = {"type": kind}
        shown: dict[str, Any] = {"type": "array", "items": item} if self.isArray else dict(item)
        if self.description:
            shown["description"] = self.description
        return shown


@dataclass
class McpToolFunction:
    """An MCP tool trigger function: the tool it offers and how to call it."""

    name: str
    tool_name: str
    description: str
    properties: list[ToolProperty]
    use_result_schema: bool
    fn: Callable[..., Any]
    trigger_param: str
    wants_context: bool
    client_params: list[str] = field(default_factory=list)

    def tool(self) -> types.Tool:
        """The tool as ``tools/list`` answers it."""
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {p.propertyName: p.schema() for p in self.properties},
        }
        required = [p.propertyName for p in self.properties if p.isRequired]
        if required:
            schema["required"] = required
        return types.Tool(name=self.tool_name, description=self.description or None, inputSchema=schema)

    def payload(self, arguments: dict[str, Any], session_id: str | None, transport: str) -> str:
        """The trigger's value for one call: the context as JSON text."""
        context = {
            "name": self.tool_name,
            "arguments": arguments,
            "sessionid": session_id,
            "transport": {"name": transport},
        }
        return json.dumps(context)

    def result(self, returned: Any) -> types.CallToolResult:
        """The function's return value as the call's result."""
        text = _text(returned)
        if self.use_result_schema:
            rich = _rich_result(text)
            if rich is not None:
                return rich
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


def _text(returned: Any) -> str:
    """What the worker sends back for a return value: text as it is, bytes decoded, None empty."""
    if returned is None:
        return ""
    if isinstance(returned, bytes | bytearray):
        return bytes(returned).decode("utf-8", "replace")
    return returned if isinstance(returned, str) else str(returned)


def _rich_result(text: str) -> types.CallToolResult | None:
    """The worker's ``call_tool_result`` wrapper, read back; None when the text is not one."""
    try:
        wrapper = json.loads(text)
        if not isinstance(wrapper, dict) or wrapper.get("type") != "call_tool_result":
            return None
        return types.CallToolResult.model_validate_json(wrapper["content"])
    except (ValueError, KeyError, TypeError, ValidationError):
        return None


def tool_function(
    name: str, trigger: Any, fn: Callable[..., Any], wants_context: bool, clients: list[str]
) -> McpToolFunction:
    """The tool a ``mcpToolTrigger`` declares; a ``toolProperties`` that is not the extension's JSON list
    stops devhost, naming the function."""
    declared = dict(trigger.get_dict_repr())
    raw = declared.get("toolProperties") or "[]"
    try:
        listed = json.loads(raw) if isinstance(raw, str) else raw
        properties = [ToolProperty.model_validate(p) for p in listed]
    except (ValueError, TypeError, ValidationError) as exc:
        raise DevHostError(
            f"function '{name}': toolProperties is not a JSON list of tool properties: {exc}"
        ) from None
    return McpToolFunction(
        name=name,
        tool_name=str(declared.get("toolName") or name),
        description=str(declared.get("description") or ""),
        properties=properties,
        use_result_schema=bool(declared.get("useResultSchema")),
        fn=fn,
        trigger_param=trigger.name,
        wants_context=wants_context,
        client_params=clients,
    )


__all__ = ["McpToolFunction", "ToolProperty", "tool_function"]
