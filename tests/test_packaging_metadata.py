"""What the package declares agrees with what CI tests: the classifiers name exactly the Pythons
of the nox matrix, and ``constraints/floors.txt`` pins exactly the declared floors."""

from __future__ import annotations

import ast
import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    return parser


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
    classifiers = setup_cfg()["metadata"]["classifiers"]
    declared = re.findall(r"Programming Language :: Python :: (3\.\d+)$", classifiers, re.M)
    assert declared == nox_pythons()
    assert setup_cfg()["options"]["python_requires"] == ">=" + nox_pythons()[0]


def test_the_floors_file_pins_every_declared_runtime_floor() -> None:
    cfg = setup_cfg()
    runtime = floors(cfg["options"]["install_requires"]) | floors(
        cfg["options.extras_require"]["redis"]
    )
    assert set(runtime) == {
        "requests", "requests-oauthlib", "oauthlib", "platformdirs", "filelock", "redis",
    }  # fmt: skip
    for name, floor in runtime.items():
        assert pins().get(name) == as_pin(floor), name


def test_every_pinned_test_library_is_pinned_at_its_declared_floor() -> None:
    declared = floors(setup_cfg()["options.extras_require"]["test"])
    for name, version in pins().items():
        if name in declared:
            assert version == as_pin(declared[name]), name
