"""The emulated API: the record store per version and organisation, scope checks, pagination.

Where ``shared/OFFICERND.md`` is silent the emulator has to guess, and says so here:

* Which resources exist: v2's are the resources of the v2 scope catalogue, as kebab-case path
  segments (``ticket-options`` for ``flex.collaboration.ticketOptions.*``); v1's are the ones
  known from OfficeRND's Hybrid reference and public clients (:data:`V1_RESOURCES`). Any resource
  given records with :meth:`FakeApi.seed` exists too. Others answer 404 on both versions.
* A v1 list filtered on a field its records do not have answers 400, like v2 (the live v1
  behaviour is not documented; silently matching nothing hid client bugs).
* ``POST .../bookings/{id}/cancel`` marks the booking ``canceled`` and answers it; bulk
  ``DELETE .../members`` with a JSON array of ids deletes them and answers ``{"deleted": n}``;
  ``GET .../bookings/occurrences`` answers the bookings (one occurrence each, filters apply).
  ``bookings/checkout-summary``, ``bookings/checkout`` and ``bookings/summary`` are not modelled
  and answer ``501`` with a body that says so.
* Cursors are opaque base64 of a small JSON object, as the live ones look; only the emulator
  reads them. v2 ranges are numbered from 1 (``rangeStart: 1, rangeEnd: 50``).
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..core.scopes import V2_SCOPES, path_segment, scope_resource
from .faults import Fault
from .identity import IssuedToken
from .records import Reply, bad_request, not_found

__all__ = ["UNAUTHORIZED_BODY", "FakeApi"]

UNAUTHORIZED_BODY = {"statusCode": 401, "message": "Unauthorized access", "error": "Unauthorized"}
_API_PATH = re.compile(
    r"^/api/(?P<version>v[12])/organizations/(?P<org>[^/]+)/(?P<resource>[^/]+)"
    r"(?:/(?P<id>[^/]+)(?:/(?P<action>[^/]+))?)?/?$"
)
#: v1 ("Hybrid") resources known from OfficeRND's reference and public v1 clients (a guess).
V1_RESOURCES = frozenset(
    {
        "members", "teams", "offices", "floors", "resources", "resource-types", "bookings",
        "memberships", "contracts", "fees", "plans", "payments", "charges", "checkins",
        "visits", "visitors", "tickets", "events", "posts", "benefits", "opportunities",
        "webhooks", "credits", "coins", "passes", "amenities", "secondary-currencies",
    }
)  # fmt: skip
#: Sub-paths of v1 bookings that real clients call and the emulator does not model.
_NOT_MODELLED = frozenset({"checkout-summary", "checkout", "summary"})


def _v2_resources() -> frozenset[str]:
    return frozenset(path_segment(scope.split(".")[2]) for scope in V2_SCOPES)


_ACTIONS = {
    "GET": "read",
    "HEAD": "read",
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}
_PAGE_LIMITS = {"v1": 100, "v2": 50}


class FakeApi:
    """``/api/v1`` and ``/api/v2`` of OfficeRND, over an in-memory store.

    v2 answers one 401 body for every auth failure and checks ``flex.<module>.<resource>.<action>``
    scopes; v1 checks ``officernd.api.read`` / ``officernd.api.write``. Lists page with v2
    cursors (``$limit`` at most 50, unknown parameters 400) or v1 ``rnd-cursor-next`` headers.
    A slug that does not exist answers 500 "Organization not found".

    Args:
        lookup: returns the live token an ``Authorization`` value carries (the token endpoint's).
        org: the organisation slug that exists from the start.
    """

    def __init__(
        self,
        lookup: Callable[[str | None], IssuedToken | None],
        org: str,
        on_change: Callable[[str, str, str, str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.lookup = lookup
        #: Called ``(version, org, resource, action, record)`` after a create, update or delete.
        self.on_change = on_change
        self.lock = threading.RLock()
        self.orgs: set[str] = {org}
        self.store: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
        self.faults: collections.deque[Fault] = collections.deque()
        self.redirects: dict[str, tuple[int, str]] = {}
        self.known = {"v1": set(V1_RESOURCES), "v2": set(_v2_resources())}

    def seed(
        self, resource: str, records: Iterable[Mapping[str, Any]], api_version: str, org: str
    ) -> list[dict[str, Any]]:
        """Add records to a resource; each gets an ``_id`` unless it has one."""
        stored = []
        with self.lock:
            self.orgs.add(org)
            self.known.setdefault(api_version, set()).add(resource)
            table = self.store.setdefault((api_version, org, resource), {})
            for record in records:
                item = dict(record)
                item.setdefault("_id", secrets.token_hex(12))
                table[str(item["_id"])] = item
                stored.append(dict(item))
        return stored

    def records(self, resource: str, api_version: str, org: str) -> list[dict[str, Any]]:
        """Copies of the stored records of a resource, in insertion order."""
        with self.lock:
            table = self.store.get((api_version, org, resource), {})
            return [dict(r) for r in table.values()]

    def authorised(
        self, headers: Mapping[str, str], version: str, resource: str, method: str
    ) -> bool:
        """True when the request's bearer token is live and has the scope for this call."""
        issued = self.lookup(headers.get("authorization"))
        if issued is None:
            return False
        action = _ACTIONS.get(method, "update")
        if version == "v1":
            needed = "officernd.api.read" if action == "read" else "officernd.api.write"
            return needed in issued.scopes
        name = scope_resource(resource)
        for scope in issued.scopes:
            parts = scope.split(".")
            if len(parts) >= 4 and parts[0] == "flex" and parts[2] == name and parts[-1] == action:
                return True
        return False

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> tuple[Reply, Fault | None]:
        """Answer one API request; a queued fault that only delays is returned, not applied."""
        with self.lock:
            redirect = self.redirects.get(path)
        if redirect is not None:
            return Reply(
                redirect[0], {"redirect": redirect[1]}, headers={"Location": redirect[1]}
            ), None
        match = _API_PATH.match(path)
        if match is None:
            return not_found(f"Cannot {method} {path}"), None
        version, org, resource, item_id, action = match.group(
            "version", "org", "resource", "id", "action"
        )
        if resource not in self.known.get(version, ()):
            return not_found(f"Cannot {method} {path}"), None
        if not self.authorised(headers, version, resource, method):
            return Reply(401, UNAUTHORIZED_BODY), None
        with self.lock:
            fault = self.faults.popleft() if self.faults else None
        replaced = fault.replacement() if fault is not None else None
        if replaced is not None:
            return replaced, fault
        if org not in self.orgs:
            return Reply(500, {"statusCode": 500, "message": "Organization not found"}), fault
        special = self._special(method, version, org, resource, item_id, action, query, body)
        if special is not None:
            return special, fault
        if action is not None:
            return not_found(f"Cannot {method} {path}"), fault
        return self._crud(method, version, org, resource, item_id, query, body), fault

    def _special(
        self,
        method: str,
        version: str,
        org: str,
        resource: str,
        item_id: str | None,
        action: str | None,
        query: Mapping[str, list[str]],
        body: bytes,
    ) -> Reply | None:
        """The endpoints beyond list/get/create/update/delete that real clients call."""
        if resource == "bookings" and item_id in _NOT_MODELLED and action is None:
            return Reply(
                501,
                {
                    "statusCode": 501,
                    "message": f"FakeOfficeRND does not model {method} bookings/{item_id}; "
                    "test this call against OfficeRND's staging environment",
                    "error": "Not Implemented",
                },
            )
        with self.lock:
            table = self.store.setdefault((version, org, resource), {})
            if resource == "bookings" and item_id == "occurrences" and action is None:
                if method not in ("GET", "HEAD"):
                    return Reply(405, {"statusCode": 405, "message": "Method Not Allowed"})
                return _list(version, table, query)
            if resource == "bookings" and action == "cancel" and item_id is not None:
                if method != "POST":
                    return Reply(405, {"statusCode": 405, "message": "Method Not Allowed"})
                if item_id not in table:
                    return _missing(resource, item_id)
                table[item_id] = {**table[item_id], "canceled": True}
                return Reply(200, table[item_id])
            if resource == "members" and item_id is None and method == "DELETE":
                ids = _json_value(body)
                if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                    return bad_request("the body must be a JSON array of member ids")
                removed = [r for r in (table.pop(i, None) for i in ids) if r is not None]
                for record in removed:
                    self._notify(version, org, resource, "delete", record)
                return Reply(200, {"deleted": len(removed)})
        return None

    def _changed(
        self,
        version: str,
        org: str,
        resource: str,
        action: str,
        table: Mapping[str, dict[str, Any]],
        reply: Reply,
    ) -> None:
        created = json.loads(reply.raw)
        self._notify(version, org, resource, action, dict(table[str(created["_id"])]))

    def _notify(
        self, version: str, org: str, resource: str, action: str, record: dict[str, Any]
    ) -> None:
        if self.on_change is not None:
            self.on_change(version, org, resource, action, dict(record))

    def _crud(
        self,
        method: str,
        version: str,
        org: str,
        resource: str,
        item_id: str | None,
        query: Mapping[str, list[str]],
        body: bytes,
    ) -> Reply:
        with self.lock:
            table = self.store.setdefault((version, org, resource), {})
            if item_id is None:
                if method in ("GET", "HEAD"):
                    return _list(version, table, query)
                if method == "POST":
                    reply = _create(table, body, resource)
                    if reply.status == 201:
                        self._changed(version, org, resource, "create", table, reply)
                    return reply
                return Reply(405, {"statusCode": 405, "message": "Method Not Allowed"})
            if method in ("GET", "HEAD"):
                if item_id not in table:
                    return _missing(resource, item_id)
                return Reply(200, table[item_id])
            if method in ("PUT", "PATCH"):
                if item_id not in table:
                    return _missing(resource, item_id)
                changes = _json_object(body)
                if changes is None:
                    return bad_request("the body must be a JSON object")
                changes.pop("_id", None)
                table[item_id] = {**table[item_id], **changes}
                self._notify(version, org, resource, "update", table[item_id])
                return Reply(200, table[item_id])
            if method == "DELETE":
                removed = table.pop(item_id, None)
                if removed is None:
                    return _missing(resource, item_id)
                self._notify(version, org, resource, "delete", removed)
                return Reply(204)
            return Reply(405, {"statusCode": 405, "message": "Method Not Allowed"})


def _create(table: dict[str, dict[str, Any]], body: bytes, resource: str = "") -> Reply:
    record = _json_object(body)
    if record is None:
        return bad_request("the body must be a JSON object")
    if resource == "webhooks":
        # A webhook needs somewhere to go; its secret is made here when none is given, and
        # answered once, as a service shows a new webhook's secret (a guess at the shape).
        if not isinstance(record.get("url"), str):
            return bad_request("a webhook needs a url")
        record.setdefault("secret", secrets.token_urlsafe(24))
    record.setdefault("_id", secrets.token_hex(12))
    record["_id"] = str(record["_id"])
    if record["_id"] in table:
        return Reply(409, {"statusCode": 409, "message": "Duplicate _id"})
    table[record["_id"]] = record
    return Reply(201, record)


def _list(
    version: str, table: Mapping[str, dict[str, Any]], query: Mapping[str, list[str]]
) -> Reply:
    items = list(table.values())
    maximum = _PAGE_LIMITS[version]
    limit = maximum
    if "$limit" in query:
        try:
            limit = int(query["$limit"][-1])
        except ValueError:
            return bad_request("$limit must be a whole number")
        if not 1 <= limit <= maximum:
            return bad_request(f"$limit must be between 1 and {maximum}")
    fields = {key for item in items for key in item}
    cursor_keys = ("$cursorNext", "$cursorPrev") if version == "v2" else ("$next", "$prev")
    for key, values in query.items():
        if key == "$limit" or key in cursor_keys:
            continue
        if key.startswith("$") or key not in fields:
            return bad_request(f"property {key} should not exist")
        items = [item for item in items if str(item.get(key)) == values[-1]]
    start = 0
    for key in cursor_keys:
        if key in query:
            offset = _decode_cursor(query[key][-1])
            if offset is None:
                return bad_request(f"{key} is not a valid cursor")
            start = offset if key in ("$cursorNext", "$next") else max(0, offset - limit)
    page = items[start : start + limit]
    end = start + len(page)
    after = _encode_cursor(page[-1]["_id"], end) if page and end < len(items) else None
    before = _encode_cursor(page[0]["_id"], start) if page and start > 0 else None
    if version == "v1":
        headers = {}
        if after:
            headers["rnd-cursor-next"] = after
        if before:
            headers["rnd-cursor-prev"] = before
        return Reply(200, page, headers=headers)
    # Numbered from 1, as the live API answers a first page (rangeStart 1, rangeEnd 50).
    answer: dict[str, Any] = {
        "results": page,
        "rangeStart": start + 1 if page else 0,
        "rangeEnd": end,
    }
    if after:
        answer["cursorNext"] = after
    if before:
        answer["cursorPrev"] = before
    return Reply(200, answer)


def _encode_cursor(item_id: str, offset: int) -> str:
    """An opaque cursor: base64 of JSON naming the sort key and the item it is next to."""
    data = json.dumps({"sort": "_id", "id": str(item_id), "n": offset}, separators=(",", ":"))
    return base64.b64encode(data.encode()).decode()


def _decode_cursor(cursor: str) -> int | None:
    """The offset a cursor of ours points at (the item id only makes it look like the live one)."""
    try:
        data = json.loads(base64.b64decode(cursor + "=" * (-len(cursor) % 4), validate=True))
        item_id, offset = str(data["id"]), int(data["n"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    return offset if offset >= 0 and item_id else None


def _json_value(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


def _json_object(body: bytes) -> dict[str, Any] | None:
    value = _json_value(body)
    return value if isinstance(value, dict) else None


def _missing(resource: str, item_id: str) -> Reply:
    return not_found(f"{resource} {item_id} not found")
