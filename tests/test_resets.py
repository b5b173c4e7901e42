"""Reset strategies on the mirror: scripted resets (through env.step only) bring every task back from the
expert's post-success end states and a tilted gripper (which the start check rejects), and with injected
noise still record the script's own actions; teleport refuses hardware; verification retries then
escalates; the operator strategy answers a teleop button, a confirmation callback, or times out; the
backward reset leaves a start state alone and accepts one only once it still holds after settling."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.drivers.teleop_base import TeleopCommand
from robot_rl.env.rig import load_rig
from robot_rl.env.robot_env import RobotEnv
from robot_rl.resets.base import HardwareRigError, ResetResult, home_pose, make_reset
from robot_rl.resets.operator import Confirmation, OperatorConfig, OperatorReset
from robot_rl.resets.scripted import ScriptedReset
from robot_rl.resets.teleport import TeleportReset
from robot_rl.resets.verify import ClassifierVerifier, PredicateVerifier, VerifyConfig, verified_reset
from robot_rl.tasks.base import DOWN, START_TILT

TASKS = ("pick_cube", "peg_insert", "drawer_open")


def _solve(env: RobotEnv, seed: int, noise: float = 0.0) -> bool:
    """Run the expert from the current scene (no teleport); returns its success."""
    _, info = env.reset(options={"teleport": False})
    expert = env.task.expert(noise, np.random.default_rng(seed))
    while True:
        _, _, terminated, truncated, info = env.step(expert.act(info["state"]))
        if terminated or truncated:
            return bool(info["success"])


def _no_teleports(env: RobotEnv) -> None:
    """Make any direct state write fail: a scripted reset may only act through env.step."""
    def refuse(*_a, **_k):
        raise AssertionError("the reset wrote the simulator state directly")
    env.sim.forward = env.sim.set_arm = env.sim.reset = refuse


@pytest.mark.parametrize("task", TASKS)
def test_scripted_reset_from_post_success_states(task):
    env = RobotEnv(task, images=False)
    env.reset(seed=0)
    home = home_pose(env)
    _no_teleports(env)
    reset, verifier = ScriptedReset(), PredicateVerifier()
    for seed in range(6):
        assert _solve(env, seed), f"expert failed on {task} seed {seed}"
        assert not verifier(env).ok  # the solved scene is not a start state
        result = reset(env, np.random.default_rng(seed))
        v = verifier(env)
        assert result.ok and v.ok, (seed, result, v.checks)
        assert np.linalg.norm(env.full_state()["ee_pos"] - home) < 0.04
    env.close()


@pytest.mark.parametrize("task", TASKS)
def test_every_teleported_start_passes_the_start_check(task):
    # the task's own start distribution must be a start state, or practice stops on a "failed" teleport
    env, verifier = RobotEnv(task, images=False), PredicateVerifier()
    failed = [seed for seed in range(200) if not (env.reset(seed=seed) and verifier(env).ok)]
    assert failed == []
    env.close()


@pytest.mark.parametrize("task", TASKS)
def test_start_check_rejects_a_tilted_gripper_and_the_scripted_reset_restores_it(task):
    from robot_rl.env import rotations as rot

    env = RobotEnv(task, images=False)
    env.reset(seed=0)
    verifier = PredicateVerifier()
    assert verifier(env).ok
    grip = 2.0 * float(env.full_state()["gripper"][0]) - 1.0  # as it is (peg_insert starts holding the peg)
    for _ in range(4):  # 0.4 rad commanded about the base x axis, TCP position kept: still "home"
        env.step(np.array([0, 0, 0, 1.0, 0, 0, grip], np.float32))
    assert rot.angle_between(DOWN, env.full_state()["ee_quat"]) > START_TILT
    v = verifier(env)
    assert not v.ok and not v.checks["tcp_down"] and v.checks["tcp_home"]  # (a held peg tilts too)
    _no_teleports(env)
    assert ScriptedReset()(env, np.random.default_rng(0)).ok and verifier(env).ok
    env.close()


def test_scripted_pick_cube_reset_randomises_the_scene():
    env = RobotEnv("pick_cube", images=False)
    env.reset(seed=0)
    spots = []
    for seed in range(3):
        _solve(env, seed)
        ScriptedReset()(env, np.random.default_rng(seed))
        spots.append(env.full_state()["object_pos"][:2].copy())
    assert min(np.linalg.norm(a - b) for i, a in enumerate(spots) for b in spots[i + 1:]) > 0.01
    env.close()


def test_teleport_refused_on_hardware():
    with pytest.raises(HardwareRigError):
        TeleportReset(rig=load_rig("franka_2x_realsense"))
    TeleportReset(rig=load_rig("sim"))  # the mirror rig is fine

    class HardwareEnv:
        hardware = True

    with pytest.raises(HardwareRigError):
        TeleportReset()(HardwareEnv(), np.random.default_rng(0))
    with pytest.raises(HardwareRigError):  # no flag at all counts as hardware
        make_reset("teleport")(object(), np.random.default_rng(0))


class DoNothing:
    name = "do_nothing"

    def __call__(self, env, rng) -> ResetResult:
        return ResetResult(True, self.name, 0, 0.0, "done")


def test_verification_retries_then_escalates_to_operator():
    env = RobotEnv("pick_cube", images=False)
    env.reset(seed=0)
    _solve(env, 0)  # cube lifted: not a start state
    rng = np.random.default_rng(0)
    cfg = VerifyConfig(max_attempts=3, escalate=False)
    report = verified_reset(env, DoNothing(), PredicateVerifier(), rng, cfg)
    assert not report.verified and report.retries == 2 and not report.escalated
    assert "cube_on_table" in report.attempts[0]["failed_checks"]

    def human_puts_it_back() -> bool:  # the confirmation arrives after the person has reset the scene
        ScriptedReset()(env, rng)
        return True

    prompts: list[str] = []
    operator = OperatorReset(confirmed=human_puts_it_back, prompt=prompts.append)
    cfg = VerifyConfig(max_attempts=2)
    report = verified_reset(env, DoNothing(), PredicateVerifier(), rng, cfg, operator)
    assert report.verified and report.escalated and report.retries == 2
    assert [a["strategy"] for a in report.attempts] == ["do_nothing", "do_nothing", "operator"]
    assert [a["verified"] for a in report.attempts] == [False, False, True]
    assert "pick_cube" in prompts[0]
    js = report.to_json()
    assert js["escalated"] and js["attempts"][-1]["message"] == "confirmed"
    env.close()


class ButtonTeleop:
    """Engaged (moving +x) for `moves` reads, then presses next_episode."""

    name = "stub"

    def __init__(self, moves: int) -> None:
        self.moves = moves

    def read(self) -> TeleopCommand:
        self.moves -= 1
        if self.moves >= 0:
            return TeleopCommand(0.0, np.array([1.0, 0, 0, 0, 0, 0]), 1.0, engaged=True)
        return TeleopCommand(0.0, np.zeros(6), 1.0, engaged=False, next_episode=True)


def test_operator_teleop_button_and_timeout():
    env = RobotEnv("pick_cube", images=False)
    env.reset(seed=0)
    x0 = env.full_state()["ee_pos"][0]
    op = OperatorReset(OperatorConfig(poll_s=0.0), teleop=ButtonTeleop(moves=5), prompt=lambda _: None)
    result = op(env, np.random.default_rng(0))
    assert result.ok and result.steps == 5 and result.message == "teleop button"
    assert env.full_state()["ee_pos"][0] > x0 + 0.03  # the operator drove the arm meanwhile

    t = [0.0]
    confirm = Confirmation()
    op = OperatorReset(OperatorConfig(timeout_s=1.0, poll_s=0.25), confirmed=confirm, prompt=lambda _: None,
                       clock=lambda: t[0], sleep=lambda dt: t.__setitem__(0, t[0] + dt))
    result = op(env, np.random.default_rng(0))
    assert not result.ok and result.message == "timeout" and t[0] == pytest.approx(1.0)
    confirm.confirm()
    assert op(env, np.random.default_rng(0)).ok  # a service call in between confirms at once
    with pytest.raises(ValueError):
        OperatorReset()  # no way to ever confirm
    env.close()


def test_classifier_verifier():
    env = RobotEnv("pick_cube", images=False)
    env.reset(seed=0)
    v = ClassifierVerifier(lambda obs: 0.8 if "state/object_pos" in obs else 0.0, threshold=0.9)(env)
    assert not v.ok and v.score == 0.8
    assert ClassifierVerifier(lambda obs: 0.95, threshold=0.9)(env).ok
    env.close()


class ScriptAsBackwardPolicy:
    """A stand-in for a trained backward policy: the scripted reset, one action per chunk."""

    name = "script_backward"

    def __init__(self, env: RobotEnv) -> None:
        self.env = env

    def reset(self) -> None:
        self.script = self.env.task.reset_script(home_pose(self.env), np.random.default_rng(0))

    def __call__(self, obs):
        return self.script.act(self.env.full_state())[None]


def test_backward_reset_runs_a_chunk_policy_until_verified():
    env = RobotEnv("drawer_open", images=False)
    env.reset(seed=0)
    assert _solve(env, 0)
    result = make_reset("backward", policy=ScriptAsBackwardPolicy(env))(env, np.random.default_rng(0))
    assert result.ok and result.strategy == "backward" and 10 < result.steps < 200
    assert PredicateVerifier()(env).ok

    class Idle:
        def reset(self) -> None:
            pass

        def __call__(self, obs):
            return np.zeros((8, 7), np.float32)

    from robot_rl.resets.backward import BackwardConfig, BackwardReset

    _solve(env, 1)
    result = BackwardReset(Idle(), config=BackwardConfig(max_steps=16))(env, np.random.default_rng(0))
    assert not result.ok and result.steps == 16 and result.message == "step limit"
    env.close()


class Recording:
    """A backward policy that counts its calls: the scripted reset, then (once the script is done) still or
    steadily moving sideways by `leave` (normalised y action; home is at the top of the workspace)."""

    name = "recording"

    def __init__(self, env: RobotEnv, leave: float = 0.0) -> None:
        self.env, self.leave, self.calls = env, leave, 0

    def reset(self) -> None:
        self.script = self.env.task.reset_script(home_pose(self.env), np.random.default_rng(0))

    def __call__(self, obs):
        self.calls += 1
        action = self.script.act(self.env.full_state())
        if self.script.done:
            action = np.array([0, self.leave, 0, 0, 0, 0, 1], np.float32)
        return action[None]


def test_backward_reset_settles_at_the_start_state_and_skips_a_scene_already_there():
    from robot_rl.resets.backward import BackwardConfig, BackwardReset

    env = RobotEnv("drawer_open", images=False)
    env.reset(seed=0)
    _no_teleports(env)
    policy = Recording(env)
    result = BackwardReset(policy)(env, np.random.default_rng(0))
    assert result.ok and result.steps == 0 and policy.calls == 0  # nothing to undo: the policy never acts

    home = home_pose(env)
    _solve(env, 0)
    cfg = BackwardConfig(max_steps=150, settle_steps=12)
    result = BackwardReset(policy, config=cfg)(env, np.random.default_rng(0))
    assert result.ok and PredicateVerifier()(env).ok
    assert np.linalg.norm(env.full_state()["ee_pos"] - home) < 0.03  # arrived, not stopped on the border

    # passing the check on the way through is not enough: it must still pass settle_steps later
    _solve(env, 0)
    leaving = Recording(env, leave=1.0)
    result = BackwardReset(leaving, config=cfg)(env, np.random.default_rng(0))
    assert not result.ok and result.message == "step limit" and not PredicateVerifier()(env).ok
    env.close()


def test_noisy_scripted_reset_records_its_own_actions_and_still_finishes():
    from robot_rl.resets.scripted import ScriptedConfig

    env = RobotEnv("drawer_open", images=False)
    env.reset(seed=0)
    assert _solve(env, 0)
    applied, labels, step = [], [], env.step

    def spy(action):
        applied.append(np.array(action))
        return step(action)

    env.step = spy
    reset = ScriptedReset(ScriptedConfig(noise=0.3), on_step=lambda obs, a, info: labels.append(np.array(a)))
    assert reset(env, np.random.default_rng(1)).ok and PredicateVerifier()(env).ok
    applied, labels = np.array(applied), np.array(labels)
    assert applied.shape == labels.shape and np.all(np.abs(applied) <= 1)
    assert np.all(applied[:, 6] == labels[:, 6])  # the gripper is never perturbed
    moved = np.abs(applied[:, :6] - labels[:, :6])
    assert 0.1 < moved.mean() < 0.4  # noise std 0.3 on the motion (less where clipped at +-1)
    env.close()
