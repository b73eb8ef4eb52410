"""Launch files: the shipped ones load; malformed ones are refused with the file and key."""

from __future__ import annotations

import pytest

from robostack.core.paths import LAUNCH_FILES
from robostack.launcher.launch_file import LaunchFileError, load_launch_file


@pytest.mark.parametrize(
    "name",
    [
        "panda_mujoco.toml",
        "panda_pybullet.toml",
        "ur5e_mujoco.toml",
        "franka_fci.toml",
        "ur5_rtde.toml",
    ],
)
def test_the_shipped_launch_files_load(name):
    launch = load_launch_file(LAUNCH_FILES / name)
    assert launch.robot.real == (name in ("franka_fci.toml", "ur5_rtde.toml"))
    if launch.robot.real:
        assert launch.safety.profile == "real_robot" and launch.safety.speed == 0.25
        assert launch.connection is not None and launch.connection.address == ""
        assert launch.ipc.split and launch.ipc.url.endswith("ttl=0")  # this machine only
    else:
        assert launch.safety.speed == 1.0


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("[robots]\nname = 'panda'\n", "[robots]", "unknown table"),
        ("[robot]\nnmae = 'panda'\n", "[robot] nmae", "unknown key; known: name, backend"),
        ("[robot]\nname = 'kuka'\n", "[robot] name", "must be one of panda, ur5e, ur5"),
        ("[session]\nseed = 'zero'\n", "[session] seed", "must be an integer, got str"),
        ("[session]\nepisodes = 0\n", "[session] episodes", "must be in [1, 100000]"),
        ("[session]\nepisodes = true\n", "[session] episodes", "must be an integer"),
        ("[safety]\nvelocity_scale = 1.5\n", "[safety] velocity_scale", "must be in [0.0, 1.0]"),
        ("[safety]\ntracking_error_max = 0\n", "[safety] tracking_error_max", "(0.0, 1.0]"),
        ("[recording]\nenabled = 'yes'\n", "[recording] enabled", "must be true or false"),
        ("[controller.gains]\nkp = 'high'\n", "[controller] gains", "kp: must be a non-empty"),
        ("[policy]\nsampler = 'euler'\n", "[policy] sampler", "ddpm, ddim, dpmsolver"),
        ("robot = 'panda'\n", "robot", "must be a table"),
        ("[robot\n", "(syntax)", "not valid TOML"),
        (
            "[robot]\nname = 'ur5e'\nbackend = 'franka_fci'\n[safety]\nprofile = 'real_robot'\n"
            "[connection]\n",
            "[robot] backend",
            "franka_fci drives panda, not ur5e",
        ),
        ("[robot]\nbackend = 'franka_fci'\n[connection]\n", "[safety] profile", "real_robot"),
        (
            "[robot]\nbackend = 'franka_fci'\n[safety]\nprofile = 'real_robot'\n",
            "[connection]",
            "needs a connection",
        ),
        ("[connection]\naddress = '10.0.0.2'\n", "[connection]", "only for real robots"),
        (
            "[robot]\nbackend = 'franka_fci'\n[safety]\nprofile = 'real_robot'\n"
            "[connection]\ncommand_mode = 'speedj'\n",
            "[connection] command_mode",
            "franka_fci takes torque, velocity, not speedj",
        ),
        (
            "[robot]\nname = 'ur5e'\nbackend = 'ur_rtde'\n[safety]\nprofile = 'real_robot'\n"
            "[connection]\ncommand_mode = 'velocity'\n",
            "[connection] command_mode",
            "ur_rtde takes servoj, speedj, torque, not velocity",
        ),
        ("[connection]\ncommand_mode = 'joint'\n", "[connection] command_mode", "must be one of"),
        ("[ipc]\nsplit = 1\n", "[ipc] split", "must be true or false"),
        ("[ipc]\nprefix = 'my session'\n", "[ipc]", "letters, digits and _"),
        ("[ipc]\npolicy_timeout_s = 0\n", "[ipc]", "policy_timeout_s must be in (0, 10] s"),
    ],
)
def test_malformed_launch_files_are_refused_naming_file_key_and_reason(tmp_path, text, key, reason):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(LaunchFileError) as refused:
        load_launch_file(path)
    assert refused.value.key == key
    assert reason in refused.value.reason
    assert str(path) in str(refused.value)


def test_a_missing_launch_file_is_named(tmp_path):
    with pytest.raises(LaunchFileError, match="no such launch file"):
        load_launch_file(tmp_path / "none.toml")


def test_connection_keys_reach_the_backend_config(tmp_path):
    path = tmp_path / "ur.toml"
    path.write_text(
        '[robot]\nname = "ur5e"\nbackend = "ur_rtde"\n'
        '[safety]\nprofile = "real_robot"\n'
        '[connection]\ncommand_mode = "speedj"\nwatchdog_hz = 10.0\n'
    )
    options = load_launch_file(path).connection.backend_options("ur_rtde")
    assert options == {"command_mode": "speedj", "watchdog_hz": 10.0}
    from robostack.hardware.ur.config import URConfig

    assert URConfig(**options).watchdog_hz == 10.0


def test_the_franka_command_mode_reaches_the_backend_config(tmp_path):
    path = tmp_path / "franka.toml"
    path.write_text(
        '[robot]\nbackend = "franka_fci"\n[safety]\nprofile = "real_robot"\n'
        '[connection]\ncommand_mode = "velocity"\n'
    )
    options = load_launch_file(path).connection.backend_options("franka_fci")
    assert options["command_mode"] == "velocity"
    from robostack.core.types import CommandMode
    from robostack.hardware.franka.config import FrankaConfig

    assert FrankaConfig(**options).mode is CommandMode.VELOCITY
