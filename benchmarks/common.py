"""Shared pieces: a transport that answers at once, RSS, medians, table printing, the report."""

from __future__ import annotations

import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import BaseAdapter

API = "https://app.officernd.com/api/v2/organizations/acme/members"


class CannedAdapter(BaseAdapter):
    """Answers every request at once with a small JSON body: the network is taken out."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"results": []}'
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = request.url or ""
        response.connection = self  # type: ignore[assignment]
        return response

    def close(self) -> None:
        pass


def rss_bytes() -> int:
    """Resident set size of this process (Linux)."""
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, also valid as an RST simple table."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    lines = [
        title,
        "",
        rule,
        "  ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)),
        rule,
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    lines.append(rule)
    return "\n".join(lines)


@dataclass
class Report:
    """What a run measured: the tables, the targets and whether each holds, the chart's data."""

    tables: list[str] = field(default_factory=list)
    targets: list[tuple[str, str, bool]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def target(self, what: str, measured: str, holds: bool) -> None:
        self.targets.append((what, measured, holds))
