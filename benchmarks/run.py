"""Run every measurement and print one table per measure plus a summary of the targets."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import instructions, peers
from .common import Report, table
from .concurrency import measure_fleet, measure_herd, measure_processes
from .footprint import (
    measure_credentials,
    measure_emulator,
    measure_memory,
    measure_startup,
    measure_tenants,
)
from .getters import FLOOR, OURS
from .httpx_tables import measure_httpx_herd, measure_httpx_instructions
from .overhead import measure_instructions, measure_overhead, measure_scale, measure_sockets


def chart(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    overhead = report.data.get("overhead", {})
    herd = report.data.get("herd", {})
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = [n for n in overhead if not n.startswith("floor")]
    colours = ["#2a7ab0" if n in OURS else "#9aa5b1" for n in names]
    left.barh(names, [overhead[n] for n in names], color=colours)
    left.axvline(1.0, color="black", linewidth=0.8)
    left.set_xlim(
        min(0.95, *[overhead[n] for n in names]) - 0.01, max(overhead[n] for n in names) + 0.02
    )
    left.set_xlabel(
        f"{report.data.get('overhead_unit', 'time')} per request vs a trivial auth object "
        "(1.00 = no overhead)"
    )
    left.set_title("Per-request overhead, cached token")
    left.invert_yaxis()
    hnames = list(herd)
    cold = [herd[n][0] for n in hnames]
    renewed = [herd[n][1] for n in hnames]
    positions = range(len(hnames))
    right.barh([p - 0.2 for p in positions], cold, height=0.4, label="cold start", color="#2a7ab0")
    right.barh(
        [p + 0.2 for p in positions], renewed, height=0.4, label="after expiry", color="#e08a3c"
    )
    right.set_yticks(list(positions), hnames)
    right.invert_yaxis()
    right.set_xlabel("token requests (64 threads at once)")
    right.set_title("Thundering herd")
    right.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run that checks everything executes; timings meaningless",
    )
    parser.add_argument("--chart", default="docs/benchmarks.png", help="PNG path ('' for none)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="MEASURE",
        help="run only this measure (repeatable): overhead, instructions (table 1b without the "
        "timed table 1, for another Python), sockets, herd, httpx (table 1d), httpx-herd, "
        "processes, "
        "start-up, memory, credentials, tenants, emulator, scale, fleet",
    )
    parser.add_argument(
        "--library",
        action="append",
        default=[],
        metavar="NAME",
        help="with --only instructions: count only these rows beside the floor (repeatable)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=3,
        metavar="N",
        help="processes (hash seeds 1..N) per row of the instruction tables (default 3)",
    )
    args = parser.parse_args(argv)
    peers.allow_http_token_endpoints()
    quick = args.quick
    instructions.SMOKE = quick
    report = Report()
    steps: list[tuple[str, Callable[[], None]]] = [
        (
            "overhead",
            lambda: measure_overhead(
                report,
                3 if quick else 25,
                100 if quick else 2000,
                20 if quick else 500,
                1 if quick else 3,
            ),
        ),
        (
            "instructions",
            lambda: measure_instructions(
                report,
                [FLOOR, *(args.library or peers.LIBRARIES)],
                20 if quick else 500,
                1 if quick else args.processes,
            ),
        ),
        (
            "sockets",
            lambda: measure_sockets(report, 20 if quick else 300, 1 if quick else args.processes),
        ),
        ("herd", lambda: measure_herd(report, 8 if quick else 64, 2 if quick else 70)),
        (
            "httpx",
            lambda: measure_httpx_instructions(
                report, 20 if quick else 300, 1 if quick else args.processes
            ),
        ),
        (
            "httpx-herd",
            lambda: measure_httpx_herd(
                report, 8 if quick else 64, 50 if quick else 1000, 2 if quick else 70
            ),
        ),
        ("processes", lambda: measure_processes(report, 2 if quick else 8, 2 if quick else 25)),
        ("start-up", lambda: measure_startup(report, 2 if quick else 15, 1 if quick else 3)),
        ("memory", lambda: measure_memory(report, 2_000 if quick else 200_000)),
        ("credentials", lambda: measure_credentials(report, 2_000 if quick else 100_000)),
        ("tenants", lambda: measure_tenants(report, 200 if quick else 2_000)),
        ("emulator", lambda: measure_emulator(report, 50 if quick else 500, 8 if quick else 64)),
        (
            "scale",
            lambda: measure_scale(
                report,
                (1, 4) if quick else (1, 4, 16, 64, 256),
                400 if quick else 4_000,
                2 if quick else 21,
                64 if quick else 1024,
            ),
        ),
        ("fleet", lambda: measure_fleet(report, 4 if quick else 16)),
    ]
    for name, step in steps:
        if (args.only and name not in args.only) or (not args.only and name == "instructions"):
            continue  # "instructions" is table 1b alone: "overhead" makes it too
        started = time.perf_counter()
        print(f"# running {name}...", file=sys.stderr, flush=True)
        step()
        print(f"# {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr)
    for text in report.tables:
        print(text)
        print()
    print(
        table(
            "Summary" + (" (--quick: timings are not meaningful)" if quick else ""),
            ("target", "measured", "holds"),
            [
                (what, measured, "yes" if holds else "NO")
                for what, measured, holds in report.targets
            ],
        )
    )
    if args.chart:
        chart(report, Path(args.chart))
        print(f"\nchart written to {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
