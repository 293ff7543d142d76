"""The emulated API: the record store per version and organisation, scope checks, pagination."""

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

from .faults import Fault
from .identity import IssuedToken
from .records import Reply, bad_request, not_found

__all__ = ["UNAUTHORIZED_BODY", "FakeApi"]

UNAUTHORIZED_BODY = {"statusCode": 401, "message": "Unauthorized access", "error": "Unauthorized"}
_API_PATH = re.compile(
    r"^/api/(?P<version>v[12])/organizations/(?P<org>[^/]+)/(?P<resource>[^/]+)(?:/(?P<id>[^/]+))?/?$"
)
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

    def __init__(self, lookup: Callable[[str | None], IssuedToken | None], org: str) -> None:
        self.lookup = lookup
        self.lock = threading.RLock()
        self.orgs: set[str] = {org}
        self.store: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
        self.faults: collections.deque[Fault] = collections.deque()
        self.redirects: dict[str, tuple[int, str]] = {}

    def seed(
        self, resource: str, records: Iterable[Mapping[str, Any]], api_version: str, org: str
    ) -> list[dict[str, Any]]:
        """Add records to a resource; each gets an ``_id`` unless it has one."""
        stored = []
        with self.lock:
            self.orgs.add(org)
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
        issued = self.lookup(headers.get("Authorization"))
        if issued is None:
            return False
        action = _ACTIONS.get(method, "update")
        if version == "v1":
            needed = "officernd.api.read" if action == "read" else "officernd.api.write"
            return needed in issued.scopes
        for scope in issued.scopes:
            parts = scope.split(".")
            if (
                len(parts) >= 4
                and parts[0] == "flex"
                and parts[2] == resource
                and parts[-1] == action
            ):
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
        version, org, resource, item_id = match.group("version", "org", "resource", "id")
        if not self.authorised(headers, version, resource, method):
            return Reply(401, UNAUTHORIZED_BODY), None
        with self.lock:
            fault = self.faults.popleft() if self.faults else None
        replaced = fault.replacement() if fault is not None else None
        if replaced is not None:
            return replaced, fault
        if org not in self.orgs:
            return Reply(500, {"statusCode": 500, "message": "Organization not found"}), fault
        return self._crud(method, version, org, resource, item_id, query, body), fault

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
                    return _create(table, body)
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
                return Reply(200, table[item_id])
            if method == "DELETE":
                if table.pop(item_id, None) is None:
                    return _missing(resource, item_id)
                return Reply(204)
            return Reply(405, {"statusCode": 405, "message": "Method Not Allowed"})


def _create(table: dict[str, dict[str, Any]], body: bytes) -> Reply:
    record = _json_object(body)
    if record is None:
        return bad_request("the body must be a JSON object")
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
            if version == "v2":
                return bad_request(f"property {key} should not exist")
            continue
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
    if version == "v1":
        headers = {}
        if end < len(items):
            headers["rnd-cursor-next"] = _encode_cursor(end)
        if start > 0:
            headers["rnd-cursor-prev"] = _encode_cursor(start)
        return Reply(200, page, headers=headers)
    answer: dict[str, Any] = {"results": page, "rangeStart": start, "rangeEnd": end}
    if end < len(items):
        answer["cursorNext"] = _encode_cursor(end)
    if start > 0:
        answer["cursorPrev"] = _encode_cursor(start)
    return Reply(200, answer)


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        offset = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return offset if kind == "offset" and offset >= 0 else None


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body or b"null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _missing(resource: str, item_id: str) -> Reply:
    return not_found(f"{resource} {item_id} not found")
