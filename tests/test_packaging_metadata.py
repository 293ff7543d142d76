"""What the package declares agrees with what CI tests: the classifiers name exactly the Pythons
of the nox matrix, and ``constraints/floors.txt`` pins exactly the declared floors; the published
metadata lists only what users install (the development groups are PEP 735 groups), under an
SPDX license expression."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test dependency group installs tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def nox_pythons() -> list[str]:
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PYTHONS":
            return list(ast.literal_eval(node.value))
    raise AssertionError("noxfile.py declares no PYTHONS")


def floors(requirements: str) -> dict[str, str]:
    found = {}
    for line in requirements.strip().splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)>=([0-9.]+)\s*", line)
        if match:
            found[match[1].lower()] = match[2]
    return found


def pins() -> dict[str, str]:
    text = (ROOT / "constraints" / "floors.txt").read_text(encoding="utf-8")
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    return dict(line.lower().split("==") for line in lines if line)


def as_pin(version: str) -> str:
    return version if version.count(".") >= 2 else version + ".0"


def test_classifiers_name_exactly_the_pythons_ci_tests() -> None:
    project = pyproject()["project"]
    declared = [
        c.rpartition(" :: ")[2]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert declared == nox_pythons()
    assert project["requires-python"] == ">=" + nox_pythons()[0]


def test_the_floors_file_pins_every_declared_runtime_floor() -> None:
    project = pyproject()["project"]
    runtime = floors("\n".join(project["dependencies"])) | floors(
        "\n".join(project["optional-dependencies"]["redis"])
    )
    assert set(runtime) == {
        "requests", "requests-oauthlib", "oauthlib", "platformdirs", "filelock", "redis",
    }  # fmt: skip
    for name, floor in runtime.items():
        assert pins().get(name) == as_pin(floor), name


def test_every_pinned_test_library_is_pinned_at_its_declared_floor() -> None:
    test = pyproject()["dependency-groups"]["test"]
    declared = floors("\n".join(r for r in test if isinstance(r, str)))
    for name, version in pins().items():
        if name in declared:
            assert version == as_pin(declared[name]), name


def test_development_dependencies_are_groups_not_published_extras() -> None:
    project = pyproject()["project"]
    published = {"redis", "django", "httpx", "httpx2", "notebook", "otel"}
    assert set(project["optional-dependencies"]) == published
    groups = pyproject()["dependency-groups"]
    assert {"test", "typing", "integrations", "bench", "docs", "ci", "dev"} <= set(groups)
    assert project["license"] == "MIT"  # an SPDX expression (PEP 639), not a classifier
    assert not any(c.startswith("License ::") for c in project["classifiers"])
