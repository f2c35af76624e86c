"""nbgrader configuration for `make lab`: the course's one config, grader/nbgrader_config.py.

`make lab` puts this folder on JUPYTER_CONFIG_PATH, where nbgrader's Jupyter extensions (the
Validate button, the assignment list) look for nbgrader_config.py; without it they warn that
no config was found. Nothing here is written to the learner's home folder.
"""
from pathlib import Path

load_subconfig("nbgrader_config.py", path=str(Path(__file__).resolve().parent.parent / "grader"))  # noqa: F821
