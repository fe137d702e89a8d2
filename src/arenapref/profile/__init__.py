"""Dataset profile: the LMSYS-Chat-1M paper's overview table (and more) for any source, streamed.

Notebook use::

    from arenapref.profile import profile_paths, render_table
    profiles = profile_paths(["data/lmsys", "data/competition/train.csv"])
    rich.print(render_table(profiles))
"""

from arenapref.profile.core import (
    PAPER_LMSYS,
    LabelMix,
    ModelStats,
    Profile,
    load_tokenizer,
    profile_batches,
    profile_paths,
    profile_source,
    profile_table,
)
from arenapref.profile.lengths import Histogram, LengthStats
from arenapref.profile.plot import plot_profiles
from arenapref.profile.render import profiles_to_json, render_details, render_table, write_json
from arenapref.profile.settings import DEFAULT_TOKENIZER, TOKENIZERS, ProfileSettings

__all__ = [
    "DEFAULT_TOKENIZER",
    "PAPER_LMSYS",
    "TOKENIZERS",
    "Histogram",
    "LabelMix",
    "LengthStats",
    "ModelStats",
    "Profile",
    "ProfileSettings",
    "load_tokenizer",
    "plot_profiles",
    "profile_batches",
    "profile_paths",
    "profile_source",
    "profile_table",
    "profiles_to_json",
    "render_details",
    "render_table",
    "write_json",
]
