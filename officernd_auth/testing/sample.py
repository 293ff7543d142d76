"""A small, realistic sample organisation (``acme``) for the emulator, the demo and user tests."""

from __future__ import annotations

import random
from typing import Any

__all__ = ["SAMPLE_ORG", "sample_records"]

SAMPLE_ORG = "acme"

_FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "John",
]
_LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Dijkstra",
]
_TRADES = [
    "Studio",
    "Labs",
    "Works",
    "Collective",
    "Partners",
    "Digital",
    "Design",
    "Ventures",
    "Foundry",
    "Co",
]
_WORDS = [
    "Blue",
    "Oak",
    "North",
    "Pixel",
    "Harbor",
    "Cedar",
    "Atlas",
    "Nimbus",
    "Copper",
    "Lumen",
    "Orbit",
    "Delta",
]


def _object_id(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(24))


def sample_records(api_version: str = "v2") -> dict[str, list[dict[str, Any]]]:
    """The ``acme`` organisation: 3 locations, 12 resources, 40 companies, 260 members and 150
    bookings, as API ``api_version`` names and shapes them.

    One deterministic sample seen through each version's naming (``shared/OFFICERND.md``): v2
    has ``locations`` and ``companies``, members with ``company``/``location``, bookings with
    ``resource`` and ISO ``start``/``end``; v1 ("Hybrid") has ``offices`` and ``teams``, members
    and bookings with ``office``/``team``, bookings with ``resourceId`` and ``start``/``end`` as
    ``{"dateTime": ...}``. The same people, companies and bookings carry the same ``_id`` in
    both. Every call returns equal records, so tests can assert on them.
    """
    if api_version not in ("v1", "v2"):
        raise ValueError(f"api_version must be 'v1' or 'v2', got {api_version!r}")
    v2 = _sample_v2()
    return v2 if api_version == "v2" else _as_v1(v2)


def _sample_v2() -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(20261128)
    locations = [
        {"_id": _object_id(rng), "name": name, "city": city, "timezone": tz}
        for name, city, tz in (
            ("Acme London", "London", "Europe/London"),
            ("Acme Berlin", "Berlin", "Europe/Berlin"),
            ("Acme Sofia", "Sofia", "Europe/Sofia"),
        )
    ]
    companies = []
    for i in range(40):
        companies.append(
            {
                "_id": _object_id(rng),
                "name": f"{rng.choice(_WORDS)} {rng.choice(_TRADES)} {i + 1}",
                "location": rng.choice(locations)["_id"],
                "status": rng.choice(["active", "active", "active", "former"]),
            }
        )
    members = []
    for i in range(260):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        company = rng.choice(companies)
        members.append(
            {
                "_id": _object_id(rng),
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}{i}@example.com",
                "company": company["_id"],
                "location": company["location"],
                "status": rng.choice(["active", "active", "active", "lead", "former"]),
            }
        )
    resources = []
    for location in locations:
        for kind in ("Meeting room", "Hot desk", "Phone booth", "Event space"):
            resources.append(
                {
                    "_id": _object_id(rng),
                    "name": f"{kind} ({location['city']})",
                    "type": kind.lower().replace(" ", "_"),
                    "location": location["_id"],
                }
            )
    bookings = []
    for i in range(150):
        member = rng.choice(members)
        day = 1 + i % 28
        hour = 8 + rng.randrange(9)
        resource = rng.choice([r for r in resources if r["location"] == member["location"]])
        bookings.append(
            {
                "_id": _object_id(rng),
                "member": member["_id"],
                "company": member["company"],
                "location": member["location"],
                "resource": resource["_id"],
                "start": f"2026-12-{day:02d}T{hour:02d}:00:00Z",
                "end": f"2026-12-{day:02d}T{hour + 1:02d}:00:00Z",
                "summary": resource["name"].split(" (")[0],
            }
        )
    return {
        "locations": locations,
        "resources": resources,
        "companies": companies,
        "members": members,
        "bookings": bookings,
    }


def _renamed(record: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {names.get(key, key): value for key, value in record.items()}


def _as_v1(v2: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The same records with v1 ("Hybrid") names and shapes."""
    places = {"location": "office", "company": "team"}
    bookings = []
    for booking in v2["bookings"]:
        record = _renamed(booking, {**places, "resource": "resourceId"})
        record["start"] = {"dateTime": booking["start"]}
        record["end"] = {"dateTime": booking["end"]}
        bookings.append(record)
    return {
        "offices": [dict(r) for r in v2["locations"]],
        "resources": [_renamed(r, places) for r in v2["resources"]],
        "teams": [_renamed(r, places) for r in v2["companies"]],
        "members": [_renamed(r, places) for r in v2["members"]],
        "bookings": bookings,
    }
