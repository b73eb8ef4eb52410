"""What a newcomer meets first: every option's default in --help, full flag names only, a
sub-command's own usage on its errors, the tasks listed, and refusals that come before torch
and the sentence model load."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from robostack.cli.main import DefaultsShown, build_parser, main
from robostack.core.paths import CHECKPOINTS
from robostack.sim.tasks import TASKS


def _sub_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_option_says_its_default_in_help():
    formatter = DefaultsShown("robostack")
    silent = []
    for name, parser in _sub_parsers().items():
        assert not parser.allow_abbrev, name
        for action in parser._actions:
            if not action.option_strings or action.required:
                continue
            if isinstance(action, argparse._HelpAction | argparse._StoreTrueAction):
                continue
            if "default" not in formatter._get_help_string(action):
                silent.append(f"{name} {action.option_strings[0]}")
    assert silent == []


def test_eval_help_shows_the_episodes_default():
    assert "seeded episodes to run (default: 100)" in " ".join(
        _sub_parsers()["eval"].format_help().split()
    )


def test_an_abbreviated_flag_is_refused_with_the_sub_commands_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "--checkpoint", "x", "--task", "reach", "--episode", "3"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("usage: robostack eval") and "unrecognized arguments: --episode" in err


def test_tasks_lists_sentences_scene_objects_robots_and_checkpoints(capsys):
    assert main(["tasks", "--json"]) == 0
    rows = {row["task"]: row for row in json.loads(capsys.readouterr().out)["tasks"]}
    assert set(rows) == set(TASKS)
    push = rows["push"]
    assert push["sentence"] == "push the {colour} cube onto the {target} square"
    assert set(push["objects"]) == {"cube", "square"} and push["objects"]["cube"]
    assert push["checkpoint_path"] == str(CHECKPOINTS / "push") and push["checkpoint_found"]
    assert rows["obstacle"]["robots"] == ["panda"]
    assert main(["tasks"]) == 0
    text = capsys.readouterr().out
    assert 'push: "push the {colour} cube onto the {target} square"' in text
    assert "scene: cube (" in text


def _refusal(*argv: str) -> tuple[int, str, bool]:
    """Run ``robostack ARGV`` in a fresh interpreter: exit code, stderr, torch imported."""
    probe = (
        "import sys; from robostack.cli.main import main; code = main(sys.argv[1:]); "
        "print('torch' in sys.modules, file=sys.stderr); sys.exit(code)"
    )
    # a refusal that loads the sentence model imports torch: 10-40 s on a loaded machine
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=600
    )
    *lines, torch = done.stderr.strip().splitlines()
    return done.returncode, "\n".join(lines), torch == "True"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["launch", "reach the red marker", "--episodes", "0"], "--episodes must be >= 1"),
        (["launch", "reach the red marker", "--launch", "nowhere.toml"], "no such launch file"),
        (["launch", "reach the red marker", "--address", "10.0.0.2"], "for real robots"),
        (["eval", "--checkpoint", "nowhere", "--task", "push"], "no checkpoint folder"),
        (["eval", "--checkpoint", str(CHECKPOINTS / "push"), "--task", "juggle"], "unknown task"),
    ],
)
def test_bad_arguments_and_paths_are_refused_before_torch_loads(argv, message):
    code, err, torch = _refusal(*argv)
    assert code == 2 and message in err and not torch, err


def test_launch_says_what_it_loads_before_it_loads_it(tmp_path):
    code, err, _ = _refusal("launch", "sing a song", "--dry-run")
    first, *_ = err.splitlines()
    assert code == 2 and "loading the sentence model" in first
