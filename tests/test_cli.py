"""``bncvl <command> --help`` for every command, and the options several commands share, defined once."""

from __future__ import annotations

import argparse

import pytest

from bncvl import cli


def options(command: str) -> dict[str, argparse.Action]:
    """The options of ``bncvl <command>``, by their long name."""
    parser = argparse.ArgumentParser()
    cli.command_module(command).configure(parser)
    return {action.option_strings[-1]: action for action in parser._actions if action.option_strings}


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_prints_its_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: bncvl {command}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("option", "commands"),
    [
        ("--bench", ("check", "history", "pipeline")),
        ("--config", ("check", "history")),
        ("--machine", ("check", "history")),
        ("--port", ("dashboard", "pipeline")),
        ("--runs-dir", ("analyze", "dashboard", "pipeline")),
        ("--channels", ("analyze", "summary")),
        ("--kernel-size", ("analyze", "summary")),
        ("--seed", ("analyze", "profile")),
        ("--threads", ("analyze", "profile")),
    ],
)
def test_an_option_several_commands_take_is_the_same_option_in_each(option: str, commands: tuple[str, ...]) -> None:
    actions = [options(command)[option] for command in commands]
    first = actions[0]
    for action in actions[1:]:
        assert (action.option_strings, type(action), action.type, action.metavar) == (
            first.option_strings,
            type(first),
            first.type,
            first.metavar,
        )
        assert action.help.split("default", 1)[0] == first.help.split("default", 1)[0]


def test_json_output_is_the_same_flag_wherever_a_command_offers_it() -> None:
    for command in ("analyze", "machine", "profile", "summary"):
        action = options(command)["--json"]
        assert isinstance(action, argparse._StoreTrueAction)
        assert action.help.endswith("as JSON instead of the text report")
