"""Calling /api/v1 in tests as any user of the `world` fixture, with a real personal token."""

import json
from typing import TYPE_CHECKING, Any

from django.test import Client

from sonda.accounts.services import api_token_create

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

PROBLEM = "application/problem+json"

# Who calls, in the order of the authorisation matrix: nobody, a stranger organisation's admin,
# the manager of another subtree, frontline, the manager of the object's subtree, then the
# organisation-wide roles.
CALLERS = [
    "anonymous",
    "outsider",
    "manager_south",
    "frontline",
    "manager_north",
    "executive",
    "analyst",
    "admin",
]


class Caller:
    """Requests to /api/v1 carrying one user's bearer token (or none, for anonymous)."""

    def __init__(self, client: Client, secret: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def get(self, path: str, **query: Any) -> "Response":
        return self.client.get(f"/api/v1{path}", query, headers=self.headers)

    def send(
        self, method: str, path: str, body: Any = None, *, raw: str | None = None
    ) -> "Response":
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        return self.client.generic(
            method, f"/api/v1{path}", data, content_type="application/json", headers=self.headers
        )

    def post(self, path: str, body: Any = None, *, raw: str | None = None) -> "Response":
        return self.send("POST", path, body, raw=raw)

    def patch(self, path: str, body: Any = None, *, raw: str | None = None) -> "Response":
        return self.send("PATCH", path, body, raw=raw)

    def put(self, path: str, body: Any = None) -> "Response":
        return self.send("PUT", path, body)

    def delete(self, path: str) -> "Response":
        return self.send("DELETE", path)


class Api:
    def __init__(self, world: Any) -> None:
        self.world = world
        self._secrets: dict[str, str] = {}

    def secret(self, who: str) -> str:
        if who not in self._secrets:
            user = self.world.users_by_role[who]
            org = self.world.other_org if who == "outsider" else self.world.org
            issued = api_token_create(scope=self.world.scope(user, org), name=f"tests ({who})")
            self._secrets[who] = issued.secret
        return self._secrets[who]

    def as_(self, who: str) -> Caller:
        return Caller(Client(), None if who == "anonymous" else self.secret(who))


def problem_fields(response: "Response") -> list[str]:
    """The fields a problem+json answer names, after checking it is one."""
    assert response["Content-Type"] == PROBLEM, response.content
    return [error["field"] for error in response.json().get("errors", [])]
