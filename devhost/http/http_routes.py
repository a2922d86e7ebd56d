"""HTTP route matching for HTTP functions: route templates as the Functions host (ASP.NET Core routing)
understands them, and the table that resolves a request path and method to a function.

Supported: literal segments, ``{name}``, optional ``{name?}``, defaults ``{name=value}``,
typed constraints ``{id:int}``, ``{name:alpha}``, ``{x:minlength(2)}``, ``{x:regex(...)}``,
and a trailing catch-all ``{*rest}``. Literals match case-insensitively.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_PARAM = re.compile(r"\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")


class RouteTemplateError(ValueError):
    """A route template the host would not accept."""


def _is_int(v: str) -> bool:
    return re.fullmatch(r"-?\d+", v) is not None


def _is_float(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return v.strip().lower() not in {"nan", "inf", "-inf", "infinity"}


def _parses(parse: Callable[[str], object]) -> Callable[[str], bool]:
    """A constraint met by the values ``parse`` accepts (it raises ValueError for the others)."""

    def check(v: str) -> bool:
        try:
            parse(v)
        except ValueError:
            return False
        return True

    return check


_SIMPLE: dict[str, Callable[[str], bool]] = {
    "int": _is_int,
    "long": _is_int,
    "bool": lambda v: v.lower() in {"true", "false"},
    "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "guid": _parses(uuid.UUID),
    "datetime": _parses(datetime.fromisoformat),
    "decimal": _is_float,
    "double": _is_float,
    "float": _is_float,
}


def _constraint(text: str) -> Callable[[str], bool]:
    m = re.fullmatch(r"(\w+)(?:\((.*)\))?", text, re.S)
    if not m:
        raise RouteTemplateError(f"invalid route constraint '{text}'")
    kind, arg = m.group(1).lower(), m.group(2)
    if arg is None:
        if kind in _SIMPLE:
            return _SIMPLE[kind]
        raise RouteTemplateError(f"unknown route constraint '{text}'")
    try:
        if kind == "regex":
            pattern = re.compile(arg, re.I)
            return lambda v: pattern.search(v) is not None
        nums = [int(x) for x in arg.split(",")]
    except (ValueError, re.error) as exc:
        raise RouteTemplateError(f"invalid route constraint '{text}': {exc}") from None
    checks: dict[str, Callable[[str], bool]] = {
        "minlength": lambda v: len(v) >= nums[0],
        "maxlength": lambda v: len(v) <= nums[0],
        "length": lambda v: len(v) == nums[0] if len(nums) == 1 else nums[0] <= len(v) <= nums[1],
        "min": lambda v: _is_int(v) and int(v) >= nums[0],
        "max": lambda v: _is_int(v) and int(v) <= nums[0],
        "range": lambda v: _is_int(v) and nums[0] <= int(v) <= nums[1],
    }
    if kind not in checks:
        raise RouteTemplateError(f"unknown route constraint '{text}'")
    return checks[kind]


@dataclass
class _Param:
    name: str
    optional: bool
    default: str | None
    catch_all: bool
    checks: list[Callable[[str], bool]] = field(default_factory=list)


def _split_constraints(body: str) -> list[str]:
    """Split 'name:int:min(1)' on colons outside parentheses (regex constraints contain colons)."""
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _parse_param(body: str) -> _Param:
    catch_all = body.startswith("*")
    body = body.lstrip("*")
    default = None
    parts = _split_constraints(body)
    name = parts[0]
    if "=" in name:
        name, default = name.split("=", 1)
    optional = name.endswith("?")
    name = name.rstrip("?")
    constraints = parts[1:]
    if constraints and constraints[-1].endswith("?"):
        optional = True
        constraints[-1] = constraints[-1][:-1]
    if constraints and "=" in constraints[-1] and not constraints[-1].startswith("regex"):
        constraints[-1], default = constraints[-1].split("=", 1)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RouteTemplateError(f"invalid route parameter name '{name}'")
    return _Param(
        name,
        optional or default is not None or catch_all,
        default,
        catch_all,
        [_constraint(c) for c in constraints if c],
    )


def _segment_pattern(segment: str, *, first: bool, last: bool, template: str) -> tuple[str, list[_Param]]:
    """One segment of a route template: its regex (after its slash, unless it is the first) and its
    parameters. A segment that is one optional parameter and nothing else may be left out, slash and all."""
    pieces = _PARAM.split(segment)  # alternating literal, param, literal, ...
    seg_regex = ""
    params: list[_Param] = []
    optional = False
    for j, piece in enumerate(pieces):
        if j % 2 == 0:
            seg_regex += re.escape(piece)
            continue
        param = _parse_param(piece)
        if param.catch_all and not last:
            raise RouteTemplateError(f"catch-all parameter must be last in route '{template}'")
        params.append(param)
        seg_regex += f"(?P<{param.name}>.*)" if param.catch_all else f"(?P<{param.name}>[^/]+)"
        if param.optional and len(pieces) == 3 and not pieces[0] and not pieces[2]:
            optional = True
    sep = "" if first else "/"
    return (f"(?:{sep}{seg_regex})?" if optional else sep + seg_regex), params


class RouteTemplate:
    """One route template, compiled to a regular expression, with its parameters and its precedence."""

    def __init__(self, template: str) -> None:
        self.template = template.strip("/")
        self.params: list[_Param] = []
        regex = ""
        literal_segments = 0
        segments = self.template.split("/") if self.template else []
        for i, segment in enumerate(segments):
            if not segment:
                raise RouteTemplateError(f"empty segment in route '{template}'")
            seg_regex, params = _segment_pattern(
                segment, first=i == 0, last=i == len(segments) - 1, template=template
            )
            self.params += params
            if not params:
                literal_segments += 1
            regex += seg_regex
        try:
            # \Z, not $: a path ending in a newline (%0A) is not the path without it.
            self._regex = re.compile(f"^{regex}/?\\Z", re.I)
        except re.error as exc:
            raise RouteTemplateError(f"invalid route '{template}': {exc}") from None
        # More literal segments and fewer parameters first; catch-alls last (like ASP.NET precedence).
        self.precedence = (
            any(p.catch_all for p in self.params),
            -literal_segments,
            sum(1 for p in self.params if p.optional),
            len(self.params),
        )

    def match(self, path: str) -> dict[str, str] | None:
        """The route's parameter values when ``path`` matches (defaults filled in), else None."""
        m = self._regex.match(path.strip("/"))
        if m is None:
            return None
        values: dict[str, str] = {}
        for param in self.params:
            value = m.group(param.name)
            if value is None or value == "":
                if not param.optional:
                    return None
                if param.default is not None:
                    values[param.name] = param.default
                continue
            if not all(check(value) for check in param.checks):
                return None
            values[param.name] = value
        return values


@dataclass
class RouteMatch:
    """The function a request resolved to, and its route parameters."""

    target: Any
    route_params: dict[str, str]


@dataclass
class RouteMiss:
    """No function for the request: 404, or 405 when routes match the path with other methods."""

    allowed: list[str]  # the methods of the routes that match the path (none: no route matches)

    @property
    def status(self) -> int:
        """404 when no route matches the path, 405 when some do with other methods."""
        return 405 if self.allowed else 404


class RouteTable:
    """Routes of the HTTP functions, under the route prefix; 404 vs 405 like the host."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.strip("/")
        self._routes: list[tuple[RouteTemplate, list[str], Any]] = []

    def add(self, template: str, methods: list[str], target: Any) -> None:
        """Add a route for ``methods`` (none: every method), kept in precedence order."""
        self._routes.append((RouteTemplate(template), [m.upper() for m in methods], target))
        self._routes.sort(key=lambda r: r[0].precedence)

    def strip_prefix(self, path: str) -> str | None:
        """The path below the route prefix; None when the path is not under it."""
        path = path.strip("/")
        if not self.prefix:
            return path
        if path.lower() == self.prefix.lower():
            return ""
        if path.lower().startswith(self.prefix.lower() + "/"):
            return path[len(self.prefix) + 1 :]
        return None

    def resolve(self, path: str, method: str) -> RouteMatch | RouteMiss:
        """A match, or why there is none: no route (404), or the route's methods (405)."""
        rel = self.strip_prefix(path)
        allowed: list[str] = []
        if rel is None:
            return RouteMiss(allowed)
        for template, methods, target in self._routes:
            params = template.match(rel)
            if params is None:
                continue
            if methods and method.upper() not in methods:
                allowed += [m for m in methods if m not in allowed]
                continue
            return RouteMatch(target, params)
        return RouteMiss(allowed)
