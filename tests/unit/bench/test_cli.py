"""`python -m bench`: every command in the table imports and takes --help; the listing names
each with one line; an unknown name is refused."""

import importlib

import pytest

from bench.cli import COMMANDS, main


def test_the_listing_has_one_line_per_command(capsys):
    assert main([]) == 0
    listing = capsys.readouterr().out
    for name, command in COMMANDS.items():
        assert f"  {name}" in listing and command.summary in listing


def test_an_unknown_command_is_refused(capsys):
    assert main(["nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_a_main_that_parses_help(name, capsys):
    module = importlib.import_module(COMMANDS[name].module)
    with pytest.raises(SystemExit) as exit_:
        module.main(["--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage:")
