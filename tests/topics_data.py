"""Small planted-topic prompts for the topic tests: each topic owns a vocabulary, frames are shared."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from arenapref.records import Conversation, Turn, conversations_table


def _words(text: str) -> list[str]:
    return text.split()


PLANTED: dict[str, list[str]] = {
    "cooking": _words(
        "recipe oven garlic onion bake pasta sauce butter flour simmer skillet dough roast pepper "
        "tomato basil soup grill marinade dessert"
    ),
    "python": _words(
        "python function list dictionary pandas dataframe loop exception import module class "
        "numpy pytest decorator iterator tuple string variable syntax traceback"
    ),
    "travel": _words(
        "flight hotel itinerary passport visa airport luggage beach museum tour booking train "
        "destination hostel sightseeing backpacking cruise vacation island ferry"
    ),
    "finance": _words(
        "stock portfolio dividend bond interest inflation mortgage budget savings investment "
        "retirement tax loan credit equity broker etf bitcoin pension asset"
    ),
    "fitness": _words(
        "workout muscle cardio protein squat gym stretching running marathon calories "
        "strength yoga dumbbell treadmill endurance pushups hiit abs warmup rep"
    ),
}
# Shared frames (no topic signal). Each prompt carries six words of its topic's vocabulary, as a real
# prompt about cooking names several cooking things; the frames are many and short so that, as in real
# prompts, the subject words and not the phrasing decide the topic.
FRAMES = [
    "Can you help me with {0} {1}? Also {2}, {3}, {4} and {5}.",
    "Explain {0} and {1} to me, then {2} {3} {4} {5}.",
    "I need advice: {0}, {1}, {2}, {3}, {4}, {5}.",
    "Write a short guide about {0} {1} {2} {3} {4} {5}.",
    "What is the best {0} for {1} {2}? Compare {3}, {4}, {5}.",
    "My friend asked about {0}, {1} and {2}; what about {3} {4} {5}?",
    "List ideas for {0} {1} {2} {3} {4} {5}.",
    "Tell me something surprising about {0}, {1}, {2}, {3}, {4} and {5}.",
]


def planted_prompts(per_topic: int, seed: int) -> tuple[list[str], list[int]]:
    """``per_topic`` prompts for each planted topic (shuffled) and their true topic index."""
    rng = np.random.default_rng(seed)
    prompts: list[str] = []
    truth: list[int] = []
    for t, words in enumerate(PLANTED.values()):
        for _ in range(per_topic):
            picked = rng.choice(words, size=6, replace=False)
            frame = FRAMES[int(rng.integers(len(FRAMES)))]
            prompts.append(frame.format(*picked) + f" Case {int(rng.integers(10_000))}.")
            truth.append(t)
    order = rng.permutation(len(prompts))
    return [prompts[i] for i in order], [truth[i] for i in order]


def planted_table(per_topic: int, seed: int, language: str | None = "English") -> tuple[pa.Table, list[int]]:
    """The planted prompts as a conversations table (one user turn and a short answer each)."""
    prompts, truth = planted_prompts(per_topic, seed)
    rows = [
        Conversation(
            conversation_id=f"c{i:05d}",
            model="model-x",
            turns=[Turn("user", p), Turn("assistant", "Sure.")],
            language=language,
        )
        for i, p in enumerate(prompts)
    ]
    return conversations_table(rows), truth
