"""The words a goal sentence may use for colours and scene objects.

Goals are lower-cased and split into words; object synonyms map to the kinds the tasks name in
`robostack.sim.tasks.base.Task.objects` (cube, marker, square, bin, wall). A colour binds to the
first object word at most `COLOUR_REACH` words after it ("the red cube", "the red wooden block").
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


COLOURS = _words(
    "red blue green yellow orange purple violet pink black white grey gray brown cyan magenta"
)

OBJECT_WORDS = {
    "cube": "cube",
    "cubes": "cube",
    "block": "cube",
    "blocks": "cube",
    "brick": "cube",
    "marker": "marker",
    "markers": "marker",
    "ball": "marker",
    "sphere": "marker",
    "dot": "marker",
    "point": "marker",
    "square": "square",
    "squares": "square",
    "pad": "square",
    "tile": "square",
    "patch": "square",
    "zone": "square",
    "bin": "bin",
    "basket": "bin",
    "container": "bin",
    "bucket": "bin",
    "tray": "bin",
    "wall": "wall",
    "obstacle": "wall",
    "barrier": "wall",
}

# nouns a goal may use that are not scene objects: the robot, the table, directions
CONTEXT_WORDS = _words(
    "robot arm gripper tool hand fingers end effector table side way other one it them left "
    "right top front back middle centre center edge floor goal target place spot"
)
ADJECTIVES = _words("small little big large tiny other same") | COLOURS
DETERMINERS = _words("the a an this that")
COLOUR_REACH = 3  # words between a colour and its object word, at most


@dataclass(frozen=True)
class Mention:
    """An object named in a goal: its kind (None when the word is unknown), the word used,
    and its colour (None when not given)."""

    kind: str | None
    word: str
    colour: str | None


def words(goal: str) -> list[str]:
    return re.findall(r"[a-z]+", goal.lower())


def canonical(goal: str) -> str:
    """The goal with object synonyms replaced by their kind ("ball" -> "marker"): what the
    sentence embedding compares with the tasks' phrasings."""
    return " ".join(OBJECT_WORDS.get(w, w) for w in words(goal))


def mentions(goal: str) -> list[Mention]:
    """Objects the goal names, in order: every known object word with the colour just before
    it, and every unknown noun after a determiner ("the banana") with kind None. A colour not
    followed by an object word is a mention of its own, with kind None and word ""."""
    tokens = words(goal)
    found: list[Mention] = []
    pending: tuple[int, str] | None = None  # (index, colour) waiting for its object word
    for i, w in enumerate(tokens):
        if w in COLOURS:
            if pending is not None:
                found.append(Mention(None, "", pending[1]))
            pending = (i, w)
            continue
        if w in OBJECT_WORDS:
            colour = pending[1] if pending and i - pending[0] <= COLOUR_REACH else None
            if pending and colour is None:
                found.append(Mention(None, "", pending[1]))
            found.append(Mention(OBJECT_WORDS[w], w, colour))
            pending = None
            continue
        after_determiner = i and tokens[i - 1] in DETERMINERS | ADJECTIVES
        known = w in ADJECTIVES or w in CONTEXT_WORDS or w in DETERMINERS
        if after_determiner and not known and _looks_like_noun(tokens, i):
            found.append(Mention(None, w, pending[1] if pending else None))
            pending = None
    if pending is not None:
        found.append(Mention(None, "", pending[1]))
    return found


def _looks_like_noun(tokens: list[str], i: int) -> bool:
    """After a determiner (and adjectives), the head of the noun phrase: the last word before a
    word that is not part of it (``the bright banana`` -> ``banana``, not ``bright``)."""
    if i + 1 < len(tokens):
        following = tokens[i + 1]
        if following in OBJECT_WORDS or following in CONTEXT_WORDS:
            return False  # a modifier: "the wooden block", "the end effector"
        if following.endswith("ing") or following.endswith("ed"):
            return True
        return following in _BOUNDARY
    return True


_BOUNDARY = _words(
    "in into on onto to and then with from behind over under near next by of at around "
    "without until so please"
)
