"""The built distributions, as a user gets them: run by ``nox -s package``, which builds the sdist
and the wheel, installs the wheel into that session's fresh environment and points
``OFFICERND_AUTH_DIST`` at the directory holding both. Without it the module is skipped."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

if "OFFICERND_AUTH_DIST" not in os.environ:
    pytest.skip("run by `nox -s package` against the built wheel", allow_module_level=True)

import officernd_auth

DIST = Path(os.environ["OFFICERND_AUTH_DIST"])
CHECKOUT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(sysconfig.get_path("scripts"))


def source_files(folder: str, pattern: str) -> set[str]:
    return {p.relative_to(CHECKOUT).as_posix() for p in (CHECKOUT / folder).rglob(pattern)}


def test_the_package_under_test_is_the_installed_wheel_not_the_checkout() -> None:
    installed = Path(officernd_auth.__file__).resolve()
    assert installed.is_relative_to(Path(sys.prefix).resolve()), installed
    assert not installed.is_relative_to(CHECKOUT / "officernd_auth")


def test_the_wheel_holds_the_package_and_py_typed_and_nothing_else() -> None:
    (wheel,) = DIST.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = f"officernd_auth-{officernd_auth.__version__}.dist-info/"
    strays = [n for n in names if not n.startswith(("officernd_auth/", dist_info))]
    assert strays == [], "the wheel must hold only the package"
    assert "officernd_auth/py.typed" in names
    modules = {n for n in names if n.endswith(".py")}
    assert modules == source_files("officernd_auth", "*.py")
    assert not [n for n in names if "tests/" in n or "benchmarks/" in n or n.endswith(".ipynb")]
    entry_points = zipfile.ZipFile(wheel).read(dist_info + "entry_points.txt").decode()
    assert "officernd-auth = officernd_auth.cli.quick:main" in entry_points
    assert "officernd_auth = officernd_auth.testing.plugin" in entry_points
    metadata = zipfile.ZipFile(wheel).read(dist_info + "METADATA").decode()
    assert "License-Expression: MIT" in metadata
    extras = {line.split(": ", 1)[1] for line in metadata.splitlines() if "Provides-Extra" in line}
    published = {"redis", "django", "httpx", "httpx2", "notebook", "otel"}
    assert extras == published  # no development extra


def test_the_sdist_holds_the_tests_docs_and_benchmarks() -> None:
    (sdist,) = DIST.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        root = archive.getnames()[0].split("/")[0]
        names = {n.removeprefix(root + "/") for n in archive.getnames()}
    wanted = (
        source_files("tests", "*.py")
        | source_files("officernd_auth", "*.py")
        | source_files("benchmarks", "*.py")
        | source_files("docs", "*.rst")
        | {"README.rst", "CHANGELOG.rst", "SECURITY.rst", "LICENSE", "noxfile.py",
           "constraints/floors.txt", "examples/explore.ipynb", "officernd_auth/py.typed"}
    )  # fmt: skip
    assert sorted(wanted - names) == []
    assert not [n for n in names if "__pycache__" in n or "/_build/" in n]


def test_the_installed_command_runs_the_demo(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(SCRIPTS / "officernd-auth"), "demo"],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "token request" in done.stdout


def test_installing_registers_the_officernd_fake_fixture(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        "from officernd_auth import OfficeRNDSession\n\n\n"
        "def test_members(officernd_fake):\n"
        "    app = officernd_fake.add_app(['flex.community.members.read'])\n"
        "    session = OfficeRNDSession(app.client_id, app.client_secret,\n"
        "                               'flex.community.members.read', org='acme',\n"
        "                               token_url=officernd_fake.token_url,\n"
        "                               api_url=officernd_fake.api_url)\n"
        "    assert session.get('members').ok\n"
        "    assert officernd_fake.token_request_count == 1\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--fixtures-per-test",
         str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert "officernd_fake" in done.stdout, done.stdout + done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
