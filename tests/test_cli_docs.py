"""docs/cli.rst against the parser: each command's synopsis is the parser's
own ``--help`` (rendered by the ``sklearn-set-help`` directive of
docs/_ext/cli_help.py), the docs name no option the parser lacks, and no
option of the parser goes undocumented."""

import importlib.util
import re
from pathlib import Path

import pytest

from sklearn_set.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]
CLI_RST = (ROOT / "docs" / "cli.rst").read_text()
# an option as the docs write it: --name, not inside a longer word
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]")


def _directive_module():
    spec = importlib.util.spec_from_file_location("cli_help",
                                                  ROOT / "docs" / "_ext" / "cli_help.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _options(parser):
    return {option for action in parser._actions for option in action.option_strings}


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_each_synopsis_in_the_docs_is_the_parsers_help(name, monkeypatch):
    directive = f".. sklearn-set-help::{' ' + name if name else ''}\n"
    assert directive in CLI_RST
    rendered = _directive_module().command_help(name)
    # what `sklearn-set NAME --help` prints in a terminal of that width
    monkeypatch.setenv("COLUMNS", str(_directive_module().WIDTH + 2))  # argparse keeps 2
    parser = build_parser()
    assert rendered == (parser.commands[name] if name else parser).format_help()
    assert rendered.startswith(f"usage: sklearn-set{' ' + name if name else ''} ")


def test_the_docs_have_no_synopsis_written_by_hand():
    # a literal block listing a command's options ("sklearn-set train [--...")
    # would drift from the parser; the directive renders them
    assert not re.search(r"^\s+sklearn-set \w+ .*\[--", CLI_RST, flags=re.MULTILINE)


def test_the_docs_name_only_options_that_exist():
    parser = build_parser()
    known = set().union(*(_options(sub) for sub in parser.commands.values()))
    readme = "\n".join(line for line in (ROOT / "README.md").read_text().splitlines()
                       if "sklearn-set " in line or line.startswith("`--"))
    for where, text in [("docs/cli.rst", CLI_RST), ("README.md", readme)]:
        unknown = set(OPTION.findall(text)) - known
        assert not unknown, f"{where} names options the command line lacks: {unknown}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_is_described_in_the_docs(name):
    parser = build_parser().commands[name]
    prose = set(OPTION.findall(CLI_RST))
    # an option by its first long spelling (-q, --quiet: --quiet)
    long = [[option for option in action.option_strings if option.startswith("--")]
            for action in parser._actions]
    missing = [spellings[0] for spellings in long
               if spellings and spellings[0] != "--help" and spellings[0] not in prose]
    assert not missing, f"docs/cli.rst does not describe {name}'s {missing}"
