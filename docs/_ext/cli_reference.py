"""``.. officernd-cli-reference::``: the CLI reference, generated from ``officernd_auth.cli.main``'s
argparse parser at build time (one section per command, its ``--help`` text verbatim), so the
documentation can never drift from the command line."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

from officernd_auth.cli.main import build_parser

WIDTH = "88"


def commands(
    parser: argparse.ArgumentParser, name: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The parser and every sub-command's parser, depth first, in the order of ``--help``."""
    yield name, parser
    for action in parser._actions:  # argparse offers no public way to walk sub-commands
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield from commands(action.choices[choice.dest], f"{name} {choice.dest}")


class CliReference(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        previous = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = WIDTH  # argparse wraps to the terminal; the page needs one width
        try:
            lines: list[str] = []
            for name, parser in commands(build_parser(), "officernd-auth"):
                title = f"``{name}``"
                lines += [title, "-" * len(title), "", ".. code-block:: text", ""]
                lines += ["   " + line for line in parser.format_help().splitlines()]
                lines.append("")
        finally:
            if previous is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = previous
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, "officernd-cli"), container)
        return list(container.children)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("officernd-cli-reference", CliReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
