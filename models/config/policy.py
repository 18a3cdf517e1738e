"""Where a policy comes from (docs/architecture.md principle 4): the default shipped beside
this module as ``policy.yaml`` — the values docs/rules.md calls configurable, with the
wording and deadlines notices state — or a commission's own YAML file, validated by the
same models, so a mistake names its field and line before anything is installed.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import yaml

from models.domain.policy import Policy


def default_policy() -> Policy:
    """The policy ``leadflow init`` installs when given none."""
    text = files("models.config").joinpath("policy.yaml").read_text(encoding="utf-8")
    return Policy.model_validate(yaml.safe_load(text))


def read_policy(path: Path) -> Policy:
    """A commission's policy file, validated (a bad one raises with its problems)."""
    from models.inputs.readers import read_yaml_model  # inputs imports schemas; keep policy light

    return read_yaml_model(path, Policy)
