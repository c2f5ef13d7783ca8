"""Random scripted worlds for search experiments, and a noisy-oracle tactic generator that knows them.

A world is a random proof tree per theorem: each goal has one correct tactic (leading to a smaller goal,
two subgoals, or no goal), and ``branching - 1`` distractors drawn from the same tactic vocabulary: dead
ends (a goal no tactic proves), loops (back to the parent goal or the goal itself) and plain errors. Every
tactic can carry a latency. The noisy oracle scores the vocabulary with ``signal`` extra logit on the
correct tactic plus Gaussian noise of standard deviation ``noise``, so ``noise`` dials how well the
"model" knows the way (0 = perfect, large = uninformed).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prover.generation.base import GenerationRequest, Suggestion, TacticGenerator
from prover.lean.types import Theorem

VOCABULARY = (
    "simp",
    "ring",
    "omega",
    "linarith",
    "norm_num",
    "nlinarith",
    "aesop",
    "positivity",
    "field_simp",
    "constructor",
    "intro h",
    "exact h",
    "decide",
    "rfl",
    "tauto",
    "gcongr",
)


@dataclass
class WorldShape:
    """Knobs of a random world (all per theorem)."""

    depth: int = 4  # correct steps on the main path of a goal
    branching: int = 6  # tactics defined per goal (1 correct + distractors)
    dead_end_rate: float = 0.3  # share of distractors that lead to an unprovable goal
    loop_rate: float = 0.2  # share of distractors that lead back (parent goal or same goal)
    split_rate: float = 0.2  # chance a correct step splits the goal into two
    latency_ms: int = 0  # delay of every tactic
    dead_end_depth: int = 2  # how deep an unprovable branch goes before everything errors


@dataclass
class GeneratedWorld:
    """The world JSON (scripted-world format) plus the answer key the oracle uses."""

    data: dict[str, Any]
    correct: dict[str, str] = field(default_factory=dict)  # goal text -> correct tactic
    theorems: list[Theorem] = field(default_factory=list)


class _Builder:
    def __init__(self, shape: WorldShape, rng: random.Random) -> None:
        self.shape = shape
        self.rng = rng
        self.goals: dict[str, dict[str, Any]] = {}
        self.correct: dict[str, str] = {}
        self.counter = 0

    def _goal_text(self, label: str) -> str:
        self.counter += 1
        hyps = "".join(f"h{i} : x{i} ≤ x{i + 1}\n" for i in range(self.rng.randint(0, 3)))
        return f"x : ℕ\n{hyps}⊢ {label}{self.counter} x = {self.rng.randint(0, 99)}"

    def provable(self, steps: int, parent: str | None) -> str:
        goal = self._goal_text("P")
        tactics = self.rng.sample(VOCABULARY, min(self.shape.branching, len(VOCABULARY)))
        correct, distractors = tactics[0], tactics[1:]
        self.correct[goal] = correct
        entry: dict[str, Any] = {}
        if steps <= 1:
            entry[correct] = {"goals": []}
        elif steps >= 3 and self.rng.random() < self.shape.split_rate:
            first = self.rng.randint(1, steps - 2)
            entry[correct] = {"goals": [self.provable(first, goal), self.provable(steps - 1 - first, goal)]}
        else:
            entry[correct] = {"goals": [self.provable(steps - 1, goal)]}
        for tactic in distractors:
            roll = self.rng.random()
            if roll < self.shape.dead_end_rate:
                entry[tactic] = {"goals": [self.dead_end(self.shape.dead_end_depth)]}
            elif roll < self.shape.dead_end_rate + self.shape.loop_rate:
                entry[tactic] = {
                    "goals": [parent if parent is not None and self.rng.random() < 0.5 else goal]
                }
            else:
                entry[tactic] = {"error": f"{tactic} failed"}
        self.goals[goal] = entry
        return goal

    def dead_end(self, depth: int) -> str:
        goal = self._goal_text("D")
        tactics = self.rng.sample(VOCABULARY, min(self.shape.branching, len(VOCABULARY)))
        entry: dict[str, Any] = {}
        for tactic in tactics:
            if depth > 1 and self.rng.random() < 0.5:
                entry[tactic] = {"goals": [self.dead_end(depth - 1)]}
            else:
                entry[tactic] = {"error": f"{tactic} failed"}
        self.goals[goal] = entry
        return goal


def random_world(num_theorems: int, shape: WorldShape, seed: int = 0) -> GeneratedWorld:
    """``num_theorems`` independent random proof trees in one world."""
    rng = random.Random(seed)
    builder = _Builder(shape, rng)
    theorems = []
    entries = []
    for i in range(num_theorems):
        root = builder.provable(shape.depth, None)
        name = f"rand_{seed}_{i}"
        statement = f"theorem {name} (x : ℕ) : P{i} x"
        entries.append({"name": name, "statement": statement, "header": "import Mathlib\n", "goals": [root]})
        theorems.append(Theorem(name, statement))
    data = {"theorems": entries, "goals": builder.goals, "default_delay_ms": shape.latency_ms}
    return GeneratedWorld(data, builder.correct, theorems)


def wide_world(branching: int, depth: int) -> GeneratedWorld:
    """A proof-less complete tree (every tactic succeeds with a new goal): for measuring search overhead."""
    vocab = [f"step {i}" for i in range(branching)]
    goals: dict[str, dict[str, Any]] = {}
    counter = 0

    def build(level: int) -> str:
        nonlocal counter
        counter += 1
        text = f"n : ℕ\n⊢ W{counter} n"
        if level < depth:
            goals[text] = {t: {"goals": [build(level + 1)]} for t in vocab}
        return text

    root = build(0)
    theorem = Theorem("wide", "theorem wide (n : ℕ) : W n")
    data = {
        "theorems": [
            {"name": "wide", "statement": theorem.statement, "header": "import Mathlib\n", "goals": [root]}
        ],
        "goals": goals,
        "default_delay_ms": 0,
    }
    return GeneratedWorld(data, {}, [theorem])


class NoisyOracleGenerator(TacticGenerator):
    """Scores the vocabulary with ``signal`` on the correct tactic plus N(0, noise²) per tactic.

    Deterministic per (seed, state), so every searcher sees the same "model".
    """

    def __init__(
        self,
        world: GeneratedWorld,
        noise: float,
        signal: float = 3.0,
        seed: int = 0,
        vocabulary: Sequence[str] = VOCABULARY,
    ) -> None:
        if noise < 0:
            raise ValueError("noise must be >= 0")
        self.correct = world.correct
        self.noise = noise
        self.signal = signal
        self.seed = seed
        self.vocabulary = tuple(vocabulary)

    def generate(self, requests: Sequence[GenerationRequest], k: int) -> list[list[Suggestion]]:
        return [self._one(request, k) for request in requests]

    def _one(self, request: GenerationRequest, k: int) -> list[Suggestion]:
        right = self.correct.get(request.first_goal)
        rng = random.Random(f"{self.seed}|{request.text}")
        logits = [
            (self.signal if t == right else 0.0) + rng.gauss(0.0, self.noise)
            if self.noise
            else (self.signal if t == right else 0.0)
            for t in self.vocabulary
        ]
        top = max(logits)
        log_z = top + math.log(sum(math.exp(x - top) for x in logits))
        scored = sorted(
            (Suggestion(x - log_z, t) for x, t in zip(logits, self.vocabulary, strict=True)),
            key=lambda s: -s.logprob,
        )
        return scored[:k]
