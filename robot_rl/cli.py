"""`robot-rl`: the command-line entry point. Groups of tyro subcommands, registered explicitly."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import tyro

# group name → (one-line help, loader returning {subcommand: callable} or one callable for a group that
# is a single command); loaders import lazily so `robot-rl --help` stays fast and a group's heavy
# dependencies load only when it runs.
Commands = dict[str, Callable] | Callable
GROUPS: dict[str, tuple[str, Callable[[], Commands]]] = {}


def _data() -> Commands:
    from robot_rl.data.cli import COMMANDS

    return COMMANDS


def _sim() -> Commands:
    from robot_rl.env.cli import COMMANDS

    return COMMANDS


def _bench() -> Commands:
    from robot_rl.bench.cli import COMMANDS

    return COMMANDS


def _ros() -> Commands:
    from robot_rl.ros.cli import COMMANDS

    return COMMANDS


def _reward() -> Commands:
    from robot_rl.rewards.cli import COMMANDS

    return COMMANDS


def _demo() -> Commands:
    from robot_rl.demo import demo

    return demo


def _train() -> Commands:
    from robot_rl.rl.train_cli import train

    return train


def _practice() -> Commands:
    from robot_rl.rl.practice_cli import practice

    return practice


def _finetune() -> Commands:
    from robot_rl.rl.finetune_cli import finetune

    return finetune


def _eval() -> Commands:
    from robot_rl.rl.train_cli import evaluate_checkpoint

    return evaluate_checkpoint


GROUPS["data"] = ("inspect, validate, repair, export and plot episode stores", _data)
GROUPS["sim"] = ("MuJoCo mirror: collect demonstrations, render rollouts", _sim)
GROUPS["bench"] = ("benchmarks that write JSON results (robot-rl bench NAME --json PATH)", _bench)
GROUPS["train"] = ("train the diffusion chunk policy (and chunked critic) on an episode store", _train)
GROUPS["eval"] = ("evaluate a checkpoint: success rate with 95% CI, episode length, videos", _eval)
GROUPS["practice"] = ("autonomous practice on a mirror task: episodes, verified resets", _practice)
GROUPS["finetune"] = ("practise a task on its mirror and fine-tune a policy online (qc, bc, rlpd)", _finetune)
GROUPS["ros"] = ("ROS 2 node graphs: run them without ros2 launch (`up`), regenerate launch files", _ros)
GROUPS["reward"] = ("success rewards from camera frames: train, eval, relabel a store, preferences", _reward)
GROUPS["demo"] = ("run the main job on the MuJoCo mirror and write a report", _demo)


def _usage() -> str:
    width = max(len(g) for g in GROUPS)
    lines = ["usage: robot-rl GROUP [COMMAND] [OPTIONS]", "", "Real-robot learning suite.", "", "groups:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (help_, _) in GROUPS.items()]
    lines += ["", "Run `robot-rl GROUP --help` for a group's commands."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    group, rest = argv[0], argv[1:]
    if group not in GROUPS:
        print(f"robot-rl: unknown group {group!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    commands = GROUPS[group][1]()
    prog = f"robot-rl {group}"
    try:
        if callable(commands):
            result = tyro.cli(commands, prog=prog, args=rest)
        else:
            result = tyro.extras.subcommand_cli_from_dict(commands, prog=prog, args=rest)
    except BrokenPipeError:  # `robot-rl data info | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
