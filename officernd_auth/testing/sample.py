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


def sample_records() -> dict[str, list[dict[str, Any]]]:
    """The ``acme`` organisation: 3 locations, 40 companies, 260 members, 150 bookings.

    Deterministic: every call returns equal records, so tests can assert on them.
    """
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
    bookings = []
    for i in range(150):
        member = rng.choice(members)
        day = 1 + i % 28
        hour = 8 + rng.randrange(9)
        bookings.append(
            {
                "_id": _object_id(rng),
                "member": member["_id"],
                "location": member["location"],
                "start": f"2026-12-{day:02d}T{hour:02d}:00:00Z",
                "end": f"2026-12-{day:02d}T{hour + 1:02d}:00:00Z",
                "summary": rng.choice(["Meeting room", "Hot desk", "Phone booth", "Event space"]),
            }
        )
    return {
        "locations": locations,
        "companies": companies,
        "members": members,
        "bookings": bookings,
    }
