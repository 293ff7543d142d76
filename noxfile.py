"""The CI matrix: the default suite on every supported Python, once on the dependency floors, the
long soaks, the integrations (Jupyter, web frameworks, mypy), the built distributions, and the
documentation with its examples.

``nox`` lists the sessions; ``.ci/run`` runs them all. Environments are made with uv when it is
installed (much faster for five environments of the test extra), else with virtualenv.

Interpreters come from ``PATH``. Where pyenv is present, its installed 3.10-3.13 versions are made
visible to its ``python3.X`` shims for the sessions (``PYENV_VERSION``); a version that cannot be
found is reported by nox as skipped, and ``.ci/run`` passes ``--error-on-missing-interpreters``
when pyenv is there, so CI fails unless all four ran.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import nox
from nox.project import dependency_groups, load_toml

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
FLOOR_PYTHON = PYTHONS[0]
HERE = Path(__file__).resolve().parent
#: The development dependency groups (PEP 735) live in pyproject.toml, not in the published
#: metadata; nox reads them whatever pip the session's environment has.
PYPROJECT = load_toml(HERE / "pyproject.toml")
TEST = dependency_groups(PYPROJECT, "test")

CHECK_PINS = """
import importlib.metadata, sys
pins = [line.split("#")[0].strip() for line in open(sys.argv[1], encoding="utf-8")]
for name, version in (pin.split("==") for pin in pins if pin):
    installed = importlib.metadata.version(name)
    print(f"{name:20} {installed}")
    if installed != version:
        sys.exit(f"{name} is {installed}, not the floor {version}")
"""

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "no"


def _expose_pyenv_versions() -> None:
    """Let ``python3.10`` ... ``python3.13`` resolve through pyenv's shims, whatever its global."""
    pyenv = shutil.which("pyenv")
    if pyenv is None or "PYENV_VERSION" in os.environ:
        return
    installed = subprocess.run(
        [pyenv, "versions", "--bare"], capture_output=True, text=True, check=False
    ).stdout.split()
    current = subprocess.run(
        [pyenv, "version-name"], capture_output=True, text=True, check=False
    ).stdout.strip()
    wanted = [current] if current else []
    for minor in PYTHONS:
        matches = sorted(
            (v for v in installed if v == minor or v.startswith(minor + ".")),
            key=lambda v: [int(part) if part.isdigit() else -1 for part in v.split(".")],
        )
        if matches and matches[-1] not in wanted:
            wanted.append(matches[-1])
    if wanted:
        os.environ["PYENV_VERSION"] = ":".join(wanted)


_expose_pyenv_versions()


#: pyproject.toml's addopts run two to four tests at a time (pytest-xdist): the suite mostly
#: waits on loopback servers and timeouts. The cache provider stays out of the checkout.
NO_CACHE = ["-p", "no:cacheprovider"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The default suite (README's test command) with the newest releases of every dependency."""
    session.install(".", *TEST)
    session.run("python", "-m", "pytest", *NO_CACHE, *session.posargs)


#: Pythons that CI cannot install yet (no pyenv build, no package in the registries it reaches):
#: run by hand where they exist, ``nox -s next``; skipped, with a message, elsewhere.
NEXT_PYTHONS = ["3.14", "3.14t"]


@nox.session(python=NEXT_PYTHONS, default=False)
def next(session: nox.Session) -> None:  # noqa: A001  (nox names the session after it)
    """The default suite on Python 3.14 and its free-threaded build, where they are installed."""
    session.install(".", *TEST)
    session.run("python", "-m", "pytest", *NO_CACHE, *session.posargs)


#: The httpx front ends' tests, run on httpx2 by the same files (tests/http_library.py).
HTTPX_FRONT_END_TESTS = [
    "tests/test_httpx.py", "tests/test_httpx_client.py", "tests/test_httpx_mocks.py",
    "tests/test_fetching.py", "tests/test_hardening_httpx.py", "tests/test_httpx_transport.py",
]  # fmt: skip


@nox.session(python=PYTHONS[1:])
def httpx2(session: nox.Session) -> None:
    """The httpx front ends' tests on httpx2 (Python 3.11 and later), in an environment without
    httpx (the ``httpx2`` extra and the ``test-httpx2`` group): their twins, every one."""
    session.install(".[httpx2]", *dependency_groups(PYPROJECT, "test-httpx2"))
    session.run("python", "-c", "import importlib.util as u; assert not u.find_spec('httpx')")
    session.run("python", "-m", "pytest", *NO_CACHE, "-m", "slow or not slow",
                *HTTPX_FRONT_END_TESTS, *session.posargs,
                env={"OFFICERND_TEST_HTTPX": "httpx2"})  # fmt: skip


@nox.session(python=FLOOR_PYTHON)
def floors(session: nox.Session) -> None:
    """The default suite with every dependency at its declared floor (constraints/floors.txt)."""
    session.install("-c", "constraints/floors.txt", ".", *TEST)
    # Prove the pins took: every constrained distribution is installed at exactly its floor.
    session.run("python", "-c", CHECK_PINS, "constraints/floors.txt")
    session.run("python", "-m", "pytest", *NO_CACHE, *session.posargs)


@nox.session(python=PYTHONS[1])
def slow(session: nox.Session) -> None:
    """The long soaks (``-m slow``): 64 threads x 2,000 requests, processes over three lifetimes."""
    session.install(".", *TEST)
    session.run("python", "-m", "pytest", *NO_CACHE, "-m", "slow", *session.posargs)


@nox.session(python=PYTHONS[1])
def integrations(session: nox.Session) -> None:
    """The notebook run in a Jupyter kernel, the Flask / Django / FastAPI webhook handlers and a
    user's script under ``mypy --strict`` (``-m integration``, the ``integrations`` extra)."""
    session.install(".", *dependency_groups(PYPROJECT, "integrations"))
    session.run("python", "-m", "pytest", *NO_CACHE, "-m", "integration", *session.posargs)


@nox.session(python=PYTHONS[1])
def package(session: nox.Session) -> None:
    """Build the sdist and the wheel, ``twine check`` them, install the wheel here (a fresh
    environment) and run ``tests/packaging`` against it."""
    session.install("build", "twine")
    dist = Path(tempfile.mkdtemp(prefix="officernd-auth-dist-"))
    session.run("python", "-m", "build", "--outdir", str(dist), str(HERE))
    session.run("twine", "check", "--strict", *(str(p) for p in sorted(dist.iterdir())))
    (wheel,) = dist.glob("*.whl")
    session.install(str(wheel), "pytest>=7.4", "pytest-xdist>=3.5")
    # Run the installed ``pytest`` from a directory outside the checkout, so that nothing on
    # ``sys.path`` can be the source tree instead of the installed wheel.
    with session.chdir(dist):
        session.run("pytest", "-p", "no:cacheprovider", "-c", str(HERE / "pyproject.toml"),
                    "--rootdir", str(HERE), str(HERE / "tests" / "packaging"),
                    env={"OFFICERND_AUTH_DIST": str(dist)})  # fmt: skip


@nox.session(python=PYTHONS[1])
def docs(session: nox.Session) -> None:
    """Build the documentation with warnings as errors and broken references failing, then run
    every code example in it against the emulator (Sphinx's doctest builder)."""
    session.install(".", *dependency_groups(PYPROJECT, "docs"))
    build = HERE / "docs" / "_build"
    common = ["-W", "--keep-going", "-n", "-q", "-d", str(build / "doctrees"), "docs"]
    session.run("sphinx-build", "-b", "html", *common, str(build / "html"))
    session.run("sphinx-build", "-b", "doctest", *common, str(build / "doctest"))


@nox.session(python=PYTHONS[1])
def bench(session: nox.Session) -> None:
    """The benchmarks' smoke run (``--quick``): every measure executes and makes its table; its
    numbers mean nothing. ``mypy --strict`` on the benchmarks first."""
    # redis: the cache rows. Not the test group: it brings httpx2, which Authlib prefers over
    # httpx when both are installed (its httpx rows would then run on httpx2).
    session.install(".", *dependency_groups(PYPROJECT, "bench", "typing"), "redis>=4.5",
                    "mypy>=1.10")  # fmt: skip
    session.run("mypy", "--strict", "benchmarks")
    session.run("python", "-m", "benchmarks", "--quick", "--chart", "", *session.posargs,
                stdout=subprocess.DEVNULL)  # fmt: skip


@nox.session(python=PYTHONS[1:])
def instructions(session: nox.Session) -> None:
    """Tables 1b and 1c of the benchmarks on Python 3.11, 3.12 and 3.13 (the overhead targets
    are judged per Python). Not part of ``.ci/run``: about 15 minutes per Python."""
    session.install(".", *dependency_groups(PYPROJECT, "bench"))
    session.run(
        "python", "-m", "benchmarks", "--only", "instructions", "--only", "sockets",
        "--chart", "", *session.posargs,
    )  # fmt: skip
