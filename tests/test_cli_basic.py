"""The command-line front end: start-up cost, help on every command, version, models."""
import json

import pytest
from click.testing import CliRunner

from helpers.startup import fresh_cli
from posetrack import __version__
from posetrack_cli import COMMANDS, cli


def test_help_does_not_import_heavy_modules():
    _, out, heavy = fresh_cli(["--help"], ("torch", "cv2", "torchvision", "decord", "av", "scipy"))
    assert heavy == []
    assert "posetrack run video.mp4" in out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_with_example(command):
    result = CliRunner().invoke(cli, [command, "-h"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output and "xample" in result.output


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_unknown_command_is_usage_error():
    result = CliRunner().invoke(cli, ["runn"])
    assert result.exit_code == 2 and "No such command" in result.output


def test_models_lists_paper_numbers():
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["w32_256x192"]["params"] == 28_536_113 and rows["w48_384x288"]["params"] == 63_595_745
    assert [rows[n]["gflops"] for n in ("w32_256x192", "w32_384x288", "w48_256x192", "w48_384x288")] == \
        [7.12, 16.02, 14.61, 32.88]
    assert rows["w48_384x288"]["weights"]["posetrack18"]["keypoints"] == "posetrack18"
    table = CliRunner().invoke(cli, ["models"], terminal_width=120)
    assert table.exit_code == 0 and "63.6M" in table.output and "32.9" in table.output
