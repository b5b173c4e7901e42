"""Reset verification: a "reset state" predicate on the scene (the task's `start_checks`) or a
classifier on the camera frames confirms each reset; failed attempts are retried up to a limit, then
escalated to the operator strategy. Every attempt is reported (and logged by the episode runner)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from robot_rl.resets.base import ResetStrategy, Verification, Verifier, home_pose


class PredicateVerifier:
    """The task's start-state predicate on `env.full_state()` (privileged state in the mirror)."""

    name = "predicate"

    def __call__(self, env: Any) -> Verification:
        checks = {k: bool(v) for k, v in env.task.start_checks(env.full_state(), home_pose(env)).items()}
        return Verification(all(checks.values()), checks)


class ClassifierVerifier:
    """A "reset state" classifier: `classifier(observation) -> probability`, ok at >= `threshold`."""

    name = "classifier"

    def __init__(self, classifier: Callable[[Mapping[str, np.ndarray]], float],
                 threshold: float = 0.5) -> None:
        self.classifier, self.threshold = classifier, threshold

    def __call__(self, env: Any) -> Verification:
        p = float(self.classifier(env.observe()))
        return Verification(p >= self.threshold, {"classifier": p >= self.threshold}, p)


@dataclasses.dataclass(frozen=True)
class VerifyConfig:
    """Retries and escalation of verified resets."""

    max_attempts: int = 3
    """Attempts of the reset strategy (the first + retries) before escalating."""
    escalate: bool = True
    """After max_attempts failures hand over to the operator strategy (when one is given)."""


@dataclasses.dataclass
class ResetReport:
    """The whole verified reset: every attempt with its verdict."""

    strategy: str
    verified: bool = False
    escalated: bool = False
    attempts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "verified": self.verified, "retries": self.retries,
                "escalated": self.escalated, "seconds": round(self.seconds, 3), "attempts": self.attempts}


def _attempt(env: Any, strategy: ResetStrategy, verifier: Verifier,
             rng: np.random.Generator) -> dict[str, Any]:
    result = strategy(env, rng)
    v = verifier(env)
    failed = sorted(k for k, ok in v.checks.items() if not ok)
    out = {"strategy": result.strategy, "finished": result.ok, "message": result.message,
           "steps": result.steps, "seconds": round(result.seconds, 3), "verified": v.ok,
           "failed_checks": failed}
    return out | ({"score": v.score} if v.score is not None else {})


def verified_reset(env: Any, strategy: ResetStrategy, verifier: Verifier, rng: np.random.Generator,
                   config: VerifyConfig = VerifyConfig(),
                   operator: ResetStrategy | None = None) -> ResetReport:
    """Run `strategy` until `verifier` accepts the scene, at most `config.max_attempts` times, then (if
    allowed) `operator` until it is accepted or the operator gives up (its own timeout)."""
    start = time.perf_counter()
    report = ResetReport(strategy.name)
    for _ in range(config.max_attempts):
        report.attempts.append(_attempt(env, strategy, verifier, rng))
        if report.attempts[-1]["verified"]:
            report.verified = True
            break
    while not report.verified and config.escalate and operator is not None:
        report.escalated = True
        report.attempts.append(_attempt(env, operator, verifier, rng))
        report.verified = report.attempts[-1]["verified"]
        if not report.attempts[-1]["finished"]:  # the operator did not answer (timeout): stop asking
            break
    report.seconds = time.perf_counter() - start
    return report
