"""A goal sentence -> a task and its slots, or a refusal before anything moves.

`GoalInterpreter.interpret` compares the sentence, with object synonyms made canonical
(`robostack.launcher.vocabulary.canonical`), with every task's phrasings (its template and
paraphrases, `robostack.sim.tasks.base.Task`) by cosine similarity of all-MiniLM-L6-v2 embeddings
(`robostack.policies.language`, offline). A task whose scene lacks an object kind the goal names
loses `MISSING_OBJECT_PENALTY` per kind, and one whose cue objects (`Task.cue_objects`: obstacle's
wall) the goal does not name loses `UNNAMED_CUE_PENALTY`: "go to the red marker" is reach, not
obstacle. Then the goal's objects fill the chosen task's slots by
kind and colour ("the red cube" fills push's ``colour``, "the green square" its ``target``);
colours with no object word fill the remaining slots in order.

Refused, with the nearest tasks and their scores: no task scores `MIN_SCORE` (no match); the
best two are within `AMBIGUITY_MARGIN` (ambiguous between tasks); a slot that picks one of
several objects is left open or named twice (ambiguous within the task); the goal names an
object, kind or colour the scene does not have (impossible).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from robostack.core.errors import RobostackError
from robostack.launcher.vocabulary import Mention, canonical, mentions
from robostack.sim.tasks import TASKS, Task, make_task

MIN_SCORE = 0.45  # unrelated sentences score below 0.3 against every task
AMBIGUITY_MARGIN = 0.05
MISSING_OBJECT_PENALTY = 0.3
UNNAMED_CUE_PENALTY = 0.1


@dataclass(frozen=True)
class Interpretation:
    """What a goal asks for.

    Attributes:
        goal: the sentence as given.  task: the task's registry name.
        slots: the task's slots the goal fixes, e.g. {"colour": "red", "target": "green"}
            (a dressing slot the goal leaves out is absent: the seed draws it).
        score: the chosen task's score (cosine similarity, less penalties), in [-1, 1].
        margin: its lead over the next task.  scores: every task's score, best first.
    """

    goal: str
    task: str
    slots: dict[str, str]
    score: float
    margin: float
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "goal": self.goal,
            "task": self.task,
            "slots": self.slots,
            "score": self.score,
            "margin": self.margin,
            "scores": dict(self.scores),
        }


class GoalRefusedError(RobostackError):
    """A goal that cannot be launched; ``kind`` is "no_match", "ambiguous" or "impossible",
    ``nearest`` the best-scoring tasks with their scores."""

    def __init__(self, kind: str, reason: str, nearest: dict[str, float]):
        self.kind, self.reason, self.nearest = kind, reason, dict(nearest)
        listed = ", ".join(f"{name} ({score:.2f})" for name, score in self.nearest.items())
        super().__init__(f"{reason}; nearest tasks: {listed}")


class GoalInterpreter:
    """Reads goals against the tasks' phrasings, whose embeddings it computes once.

    Args:
        embed: sentences -> (n, L) unit vectors (default:
        `robostack.policies.language.embed_sentences`). tasks: registry names to choose among
        (default: every task).
    """

    def __init__(
        self,
        *,
        embed: Callable[[Sequence[str]], np.ndarray] | None = None,
        tasks: Sequence[str] | None = None,
    ):
        if embed is None:
            from robostack.policies.language import embed_sentences

            embed = embed_sentences
        self.embed = embed
        self.tasks: dict[str, Task] = {name: make_task(name) for name in (tasks or TASKS)}
        self.phrasings = {
            name: embed([canonical(p) for p in _phrasings(task)])
            for name, task in self.tasks.items()
        }

    def interpret(self, goal: str) -> Interpretation:
        """The task and slots ``goal`` asks for; raises `GoalRefusedError` (see the module doc)."""
        if not goal.strip():
            raise GoalRefusedError("no_match", "the goal is empty", {})
        named = mentions(goal)
        scores = self.scores(goal, named)
        ranked = sorted(scores, key=scores.get, reverse=True)
        nearest = {name: scores[name] for name in ranked[:3]}
        best = ranked[0]
        margin = scores[best] - scores[ranked[1]] if len(ranked) > 1 else 1.0
        if scores[best] < MIN_SCORE:
            raise GoalRefusedError("no_match", f"{goal!r} matches no known task", nearest)
        if margin < AMBIGUITY_MARGIN:
            raise GoalRefusedError(
                "ambiguous",
                f"{goal!r} is ambiguous between {best} and {ranked[1]}: say which",
                nearest,
            )
        task = self.tasks[best]
        slots = _fill_slots(task, named, goal, nearest)
        return Interpretation(
            goal, best, slots, scores[best], margin, {k: scores[k] for k in ranked}
        )

    def scores(self, goal: str, named: list[Mention] | None = None) -> dict[str, float]:
        """Every task's score for ``goal`` (see the module doc)."""
        named = mentions(goal) if named is None else named
        vector = self.embed([canonical(goal)])[0]
        kinds = {m.kind for m in named if m.kind is not None}
        scores = {}
        for name, task in self.tasks.items():
            scores[name] = (
                float(np.max(self.phrasings[name] @ vector))
                - MISSING_OBJECT_PENALTY * len(kinds - set(task.objects))
                - UNNAMED_CUE_PENALTY * len(set(task.cue_objects) - kinds)
            )
        return scores


def _phrasings(task: Task) -> list[str]:
    """The task's template and paraphrases with each slot set to its first value."""
    values = {slot: task.slot_values(slot)[0] for slot in task.slot_objects}
    return [p.format(**values) for p in (task.template, *task.paraphrases)]


def _fill_slots(task: Task, named: list[Mention], goal: str, nearest) -> dict[str, str]:
    """Slots from the goal's objects; refusals for objects the scene lacks or open slots."""
    for m in named:
        if m.kind is None and m.word:
            raise GoalRefusedError(
                "impossible",
                f"{goal!r} names a {m.word}, which is not in the {task.name} scene (it has: "
                f"{_scene_list(task)})",
                nearest,
            )
        if m.kind is not None and m.kind not in task.objects:
            raise GoalRefusedError(
                "impossible",
                f"the {task.name} scene has no {m.kind} (it has: {_scene_list(task)})",
                nearest,
            )
        if m.kind is not None and m.colour and not task.objects[m.kind]:
            raise GoalRefusedError(
                "impossible",
                f"the {task.name} scene's {m.kind} has no colour; there is no {m.colour} {m.kind}",
                nearest,
            )
    slot_of_kind = {kind: slot for slot, kind in task.slot_objects.items()}
    values: dict[str, list[str]] = {slot: [] for slot in task.slot_objects}
    loose = []
    for m in named:
        if m.colour is None:
            continue
        if m.kind is None:
            loose.append(m.colour)
        else:
            values[slot_of_kind[m.kind]].append(m.colour)
    for slot in values:  # colours without an object word, in order
        if not values[slot] and loose:
            values[slot].append(loose.pop(0))
    slots = {}
    for slot, colours in values.items():
        kind = task.slot_objects[slot]
        if len(set(colours)) > 1:
            raise GoalRefusedError(
                "ambiguous",
                f"{goal!r} names {len(set(colours))} {kind}s ({', '.join(colours)}); "
                f"the {task.name} task takes one",
                nearest,
            )
        if colours:
            slots[slot] = colours[0]
        elif slot not in task.dressing_slots:
            raise GoalRefusedError(
                "ambiguous",
                f"which {kind}? the {task.name} scene has {', '.join(task.slot_values(slot))} "
                f"{kind}s",
                nearest,
            )
    try:
        task.check_slots(slots)
    except RobostackError as error:
        raise GoalRefusedError("impossible", str(error), nearest) from None
    return slots


def _scene_list(task: Task) -> str:
    parts = []
    for kind, colours in task.objects.items():
        parts.append(f"{' and '.join(colours)} {kind}s" if colours else f"a {kind}")
    return ", ".join(parts)
