"""Who is calling: the App Service authentication (Easy Auth) principal, when the platform provides one."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

ROLE_CLAIMS = ("roles", "role", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
NAME_CLAIMS = ("name", "preferred_username", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")


def principal(header: str | None) -> dict[str, Any] | None:
    """The decoded ``x-ms-client-principal`` header (base64 JSON), or None when absent or malformed."""
    if not header:
        return None
    try:
        data = json.loads(base64.b64decode(header, validate=False))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def principal_name(header: str | None) -> str | None:
    data = principal(header)
    if data is None:
        return None
    if isinstance(data.get("userDetails"), str):
        return data["userDetails"]
    name_type = data.get("name_typ")
    for claim in data.get("claims") or []:
        if isinstance(claim, dict) and (claim.get("typ") == name_type or claim.get("typ") in NAME_CLAIMS):
            value = claim.get("val")
            if isinstance(value, str):
                return value
    return None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who answers an approval: a name and the roles the platform vouches for."""

    name: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    source: str = "anonymous"

    def is_one_of(self, approvers: list[str]) -> bool:
        """Approvers name users or roles; any match lets the caller answer."""
        allowed = set(approvers)
        return (self.name is not None and self.name in allowed) or bool(self.roles & allowed)


def principal_roles(header: str | None) -> frozenset[str]:
    data = principal(header)
    if data is None:
        return frozenset()
    roles = {r for r in data.get("userRoles") or [] if isinstance(r, str)}
    role_type = data.get("role_typ")
    for claim in data.get("claims") or []:
        if not isinstance(claim, dict):
            continue
        if claim.get("typ") in (role_type, *ROLE_CLAIMS) and isinstance(claim.get("val"), str):
            roles.add(claim["val"])
    return frozenset(roles)


def caller_from(header: str | None, token_subject: str | None) -> Caller:
    """App Service authentication when present, else the subject the approval token was issued to."""
    name = principal_name(header)
    if name is not None:
        return Caller(name=name, roles=principal_roles(header), source="easy-auth")
    if token_subject:
        return Caller(name=token_subject, source="token")
    return Caller(name=None)
