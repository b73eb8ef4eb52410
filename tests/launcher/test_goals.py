"""Goal interpretation: a table of phrasings -> task and slots, and the refusals."""

from __future__ import annotations

import pytest

from robostack.launcher.goals import GoalInterpreter, GoalRefusedError, negation
from robostack.sim.tasks import TASKS, make_task

# (goal, task, slots): paraphrases, synonyms and other word orders, written by hand
PHRASINGS = [
    ("reach the red marker", "reach", {"colour": "red"}),
    ("move the gripper to the blue marker", "reach", {"colour": "blue"}),
    ("touch the red ball", "reach", {"colour": "red"}),
    ("go to the blue dot", "reach", {"colour": "blue"}),
    ("point the tool at the blue sphere", "reach", {"colour": "blue"}),
    ("the blue marker: reach it", "reach", {"colour": "blue"}),
    ("can you touch the red marker please", "reach", {"colour": "red"}),
    ("bring the end effector to the red marker", "reach", {"colour": "red"}),
    ("push the red cube onto the green square", "push", {"colour": "red", "target": "green"}),
    ("slide the blue block onto the yellow square", "push", {"colour": "blue", "target": "yellow"}),
    ("shove the red cube to the yellow pad", "push", {"colour": "red", "target": "yellow"}),
    ("onto the green square, push the blue cube", "push", {"colour": "blue", "target": "green"}),
    (
        "push the red block until it is on the yellow square",
        "push",
        {"colour": "red", "target": "yellow"},
    ),
    (
        "move the blue cube onto the green square by pushing it",
        "push",
        {"colour": "blue", "target": "green"},
    ),
    ("nudge the blue cube over to the yellow tile", "push", {"colour": "blue", "target": "yellow"}),
    (
        "push the red cube so it ends up on the green square",
        "push",
        {"colour": "red", "target": "green"},
    ),
    ("put the red cube in the bin", "pick_place", {"colour": "red"}),
    ("pick up the blue cube and drop it in the bin", "pick_place", {"colour": "blue"}),
    ("place the red block into the basket", "pick_place", {"colour": "red"}),
    ("grasp the blue cube and put it in the container", "pick_place", {"colour": "blue"}),
    ("lift the red block into the bin", "pick_place", {"colour": "red"}),
    ("drop the blue cube into the bin", "pick_place", {"colour": "blue"}),
    ("into the bin with the red cube", "pick_place", {"colour": "red"}),
    ("pick the blue brick and place it in the bucket", "pick_place", {"colour": "blue"}),
    ("reach the red marker behind the wall", "obstacle", {"colour": "red"}),
    ("go around the wall to the blue marker", "obstacle", {"colour": "blue"}),
    ("reach the blue ball on the other side of the obstacle", "obstacle", {"colour": "blue"}),
    ("move to the red marker without hitting the wall", "obstacle", {"colour": "red"}),
    ("get the gripper to the blue dot behind the barrier", "obstacle", {"colour": "blue"}),
    ("avoid the wall and touch the red marker", "obstacle", {"colour": "red"}),
    ("touch the red sphere behind the obstacle", "obstacle", {"colour": "red"}),
    ("behind the wall there is a blue marker, reach it", "obstacle", {"colour": "blue"}),
    ("reach the marker behind the wall", "obstacle", {}),
    ("go to the red marker", "reach", {"colour": "red"}),
    ("pick up the blue cube", "pick_place", {"colour": "blue"}),
]


@pytest.fixture(scope="module")
def interpreter():
    return GoalInterpreter()


def test_at_least_90_percent_of_the_phrasings_are_read_right(interpreter):
    wrong = []
    for goal, task, slots in PHRASINGS:
        try:
            got = interpreter.interpret(goal)
            if (got.task, got.slots) != (task, slots):
                wrong.append((goal, got.task, got.slots))
        except GoalRefusedError as error:
            wrong.append((goal, "refused", str(error)))
    accuracy = 1 - len(wrong) / len(PHRASINGS)
    print(f"interpretation accuracy {accuracy:.1%} on {len(PHRASINGS)} phrasings; wrong: {wrong}")
    assert len(PHRASINGS) >= 30
    assert accuracy >= 0.9, wrong


def test_the_interpretation_reports_its_score_and_the_runner_up(interpreter):
    got = interpreter.interpret("push the red cube onto the green square")
    assert got.task == "push" and got.score > 0.9
    assert got.margin > 0.05 and next(iter(got.scores)) == "push" and len(got.scores) == 4


@pytest.mark.parametrize(
    ("goal", "kind", "message"),
    [
        ("make me a cup of coffee", "no_match", "matches no known task"),
        ("what is the weather today", "no_match", "matches no known task"),
        ("fold the laundry", "no_match", "matches no known task"),
        ("", "no_match", "empty"),
        ("move the red cube", "ambiguous", "ambiguous between pick_place and push"),
        ("move the red cube to the target", "ambiguous", "ambiguous between push and pick_place"),
        ("reach the marker", "ambiguous", "which marker"),
        ("push the red cube onto the square", "ambiguous", "which square"),
        ("push the red cube and the blue cube onto the green square", "ambiguous", "2 cubes"),
        ("push the purple cube onto the green square", "impossible", "no purple cube"),
        ("reach the green marker", "impossible", "no green marker"),
        ("push the red cube onto the blue square", "impossible", "no blue square"),
        ("put the banana in the bin", "impossible", "names a banana"),
        ("put the red cube in the green bin", "impossible", "no green bin"),
    ],
)
def test_unknown_ambiguous_and_impossible_goals_are_refused_with_the_nearest_tasks(
    interpreter, goal, kind, message
):
    with pytest.raises(GoalRefusedError, match=message) as refused:
        interpreter.interpret(goal)
    assert refused.value.kind == kind
    if goal:
        assert len(refused.value.nearest) == 3
        assert "nearest tasks:" in str(refused.value)


@pytest.mark.parametrize(
    ("goal", "word"),
    [
        ("do not reach the blue marker behind the wall", "not"),
        ("don't push the red cube onto the green square", "don't"),
        ("Don\u2019t push the red cube onto the green square", "don't"),
        ("never push the red cube onto the green square", "never"),
        ("push the red cube onto the green square, no wait, stop", "no"),
        ("reach the red marker... cancel that", "cancel"),
    ],
)
def test_negated_and_cancelled_goals_are_refused_before_any_scoring(interpreter, goal, word):
    with pytest.raises(
        GoalRefusedError, match=f"negates or cancels itself \\({word!r}\\)"
    ) as refused:
        interpreter.interpret(goal)
    assert refused.value.kind == "negated"


def test_no_task_phrasing_reads_as_negated():
    for name in TASKS:
        task = make_task(name)
        assert [p for p in (task.template, *task.paraphrases) if negation(p)] == []
