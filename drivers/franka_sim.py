"""franky-sim (the libfranka network protocol on loopback, MuJoCo FR3) as a subprocess, for tests/benches.

`FrankySim()` starts `python -m robot_rl.drivers.franka_sim`, which runs franky-sim's MuJoCo server on
the first free 127.x.y.z address (parallel runs do not collide) with two additions spoken over stdin:
- `reflex`: fault injection. franky-sim never raises reflexes (its README: "does not produce control
  errors"), so this aborts the motion in flight with libfranka's `kReflexAborted` status and reports
  robot mode kReflex with the `cartesian_reflex` error until the client runs automatic error recovery
  — exactly the messages a real controller sends after a collision reflex.
- `stats`: every Cartesian pose setpoint the server received (the 1 kHz stream libfranka sends while a
  Cartesian motion runs): count, per-axis min/max of the position (m, base frame), non-finite count.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from typing import Any

import numpy as np

CARTESIAN_REFLEX = 7
"""Index of `cartesian_reflex` in libfranka's Errors array."""


# ---------------------------------------------------------------------------------------- client side
class FrankySim:
    """A franky-sim server process; `host` is the loopback address to connect franky to."""

    def __init__(self, startup_timeout: float = 60.0) -> None:
        self.proc = subprocess.Popen([sys.executable, "-u", "-m", "robot_rl.drivers.franka_sim"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.host = self._expect("READY ", startup_timeout).split()[1]

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put("EXIT")

    def _expect(self, prefix: str, timeout: float) -> str:
        seen = []
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"franky-sim: no '{prefix}' within {timeout} s; output: {seen}") from None
            if line.startswith(prefix):
                return line
            if line == "EXIT":
                raise RuntimeError(f"franky-sim exited; output: {seen}")
            seen.append(line)

    def _send(self, cmd: str, reply: str, timeout: float = 5.0) -> str:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self._expect(reply, timeout)

    def inject_reflex(self) -> None:
        """Abort the running motion with a Cartesian reflex, as a real collision would."""
        self._send("reflex", "OK reflex")

    def stats(self) -> dict[str, Any]:
        """Cartesian setpoints received so far (see module docstring)."""
        return json.loads(self._send("stats", "STATS ")[len("STATS "):])

    def reset_stats(self) -> None:
        self._send("reset", "OK reset")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self._send("quit", "EXIT", timeout=10.0)
            except (TimeoutError, RuntimeError, OSError):
                pass
            if self.proc.poll() is None:
                self.proc.terminate()
            self.proc.wait(10)

    def __enter__(self) -> FrankySim:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------- server side
def _server_class():
    """franky-sim's robot server + reflex injection + setpoint statistics."""
    from franky_sim import franka_robot_server as frs
    from franky_sim.franka_robot_protocol import (
        BaseCommand,
        MoveStatus,
        RobotCommand,
        RobotMode,
        StateMotionGeneratorMode,
        UDPCommand,
    )

    class InjectingServer(frs.FrankaRobotServer):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.reflex = False
            self.reset_stats()

        def reset_stats(self) -> None:
            self.count, self.nonfinite = 0, 0
            self.lo, self.hi = np.full(3, np.inf), np.full(3, -np.inf)

        def stats(self) -> dict[str, Any]:
            return {"count": self.count, "nonfinite": self.nonfinite,
                    "min": self.lo.tolist() if self.count else None,
                    "max": self.hi.tolist() if self.count else None}

        @property
        def robot_state(self):
            state = super().robot_state
            if not self.reflex:
                return state
            errors = tuple(i == CARTESIAN_REFLEX for i in range(41))
            return state.replace(robot_mode=RobotMode.kReflex, errors=errors, reflex_reason=errors,
                                 motion_generator_mode=StateMotionGeneratorMode.kIdle)

        def inject_reflex(self) -> None:
            if self.current_motion_id:
                BaseCommand.send_response(self._tcp_socket, RobotCommand.kMove, self.current_motion_id,
                                          MoveStatus.kReflexAborted)
            self.stop_motion(send_preemption_signal=False)
            self.reset_current_motion_id()
            self.reflex = True

        def _handle_udp_command(self, command_data: bytes) -> None:
            super()._handle_udp_command(command_data)
            cmd = UDPCommand.from_bytes(command_data)
            mode = self._FrankaRobotServer__control_mode  # franky-sim keeps it private
            if cmd.message_id > 0 and mode == frs.ControlMode.CARTESIAN_POSITION:
                pos = np.asarray(cmd.O_T_EE_c, dtype=float)[12:15]  # column-major 4x4: translation
                if not np.isfinite(pos).all():
                    self.nonfinite += 1
                    return
                self.count += 1
                self.lo, self.hi = np.minimum(self.lo, pos), np.maximum(self.hi, pos)

    return InjectingServer


def _patch_recovery() -> None:
    """Automatic error recovery clears an injected reflex (franky-sim acknowledges it, no state)."""
    from franky_sim.franka_robot_protocol import AutomaticErrorRecoveryCommand, AutomaticErrorRecoveryStatus

    def handle(self, server) -> None:
        server.reflex = False
        self.reply(AutomaticErrorRecoveryStatus.kSuccess)

    AutomaticErrorRecoveryCommand.handle = handle


def _serve_stdin(commands: queue.Queue) -> None:
    for line in sys.stdin:
        commands.put(line.strip())
    commands.put("quit")


def _execute(cmd: str, server, robot_server) -> None:
    if cmd == "reflex":
        robot_server.inject_reflex()
        print("OK reflex", flush=True)
    elif cmd == "stats":
        print("STATS " + json.dumps(robot_server.stats()), flush=True)
    elif cmd == "reset":
        robot_server.reset_stats()
        print("OK reset", flush=True)
    elif cmd == "quit":
        server.running = False


def main() -> None:
    """Run the server until stdin says `quit` or closes; prints `READY <host>` once connectable."""
    import franky_sim
    from franky_sim import simulation_server
    from franky_sim.mujoco_simulator import MujocoSimulator

    simulation_server.FrankaRobotServer = _server_class()
    _patch_recovery()
    commands: queue.Queue[str] = queue.Queue()
    with MujocoSimulator(enable_visualization=False) as sim:
        robot = sim.add_robot()
        with franky_sim.SimulationServer(sim) as server:
            robot_server = server.robot_servers[0]

            def drain(_sim) -> None:
                while not commands.empty():
                    _execute(commands.get(), server, robot_server)

            sim.register_pre_step_callback(drain)
            threading.Thread(target=_serve_stdin, args=(commands,), daemon=True).start()
            print(f"READY {robot.hostname}", flush=True)
            server.run_forever()


if __name__ == "__main__":
    main()
