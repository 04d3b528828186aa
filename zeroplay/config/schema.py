"""The whole config of a run: its sections, the rules between them, its YAML form.

    cfg = Config()                       # the local CPU defaults: always runnable
    cfg.to_yaml()                        # what load_config reads back to an equal Config
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from zeroplay.config.rules import DEPENDENT, DEPENDENT_CHECKS, TRAINING_CHECKS, get_value
from zeroplay.config.sections import (
    ClusterConfig,
    CurriculumConfig,
    LearnerConfig,
    PolicyConfig,
    RolloutConfig,
    RunConfig,
    SandboxConfig,
    Section,
)

# Validation context of a config that only generates and judges (the rollout and sandbox
# actors, which `zeroplay eval` also starts): the rules that guard training are skipped.
# `Config.model_validate(data, context=GENERATION_ONLY)`.
GENERATION_ONLY = {"generation_only": True}


class Config(Section):
    """A whole run. Defaults are the local CPU setup of configs/local.yaml."""

    run: RunConfig = Field(default_factory=RunConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    curriculum: CurriculumConfig = Field(default_factory=CurriculumConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    learner: LearnerConfig = Field(default_factory=LearnerConfig)

    @model_validator(mode="after")
    def _dependent_values(self, info: ValidationInfo) -> Config:
        """Every rule that ties values of different sections together, checked at once.

        Section validators check values within one section; what fails here would
        otherwise fail late, e.g. in the learner actor after the curriculum was seeded.
        Under the GENERATION_ONLY context the rules that only training needs are skipped.
        """
        checks = DEPENDENT_CHECKS
        if not (info.context or {}).get("generation_only"):
            checks += TRAINING_CHECKS
        problems = [p for check in checks if (p := check(self)) is not None]
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, [
                InitErrorDetails(
                    type=PydanticCustomError(DEPENDENT, "{message}",
                                             {"message": message, "keys": keys}),
                    loc=tuple(keys[0].split(".")), input=get_value(self, keys[0]))
                for keys, message in problems])
        return self

    def to_yaml(self) -> str:
        """The config as YAML that `load_config` reads back to an equal Config."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def write(self, path: Path) -> None:
        """Write the resolved config (what a run records in its run directory), atomically."""
        from zeroplay.files import atomic_write_text

        atomic_write_text(path, self.to_yaml())
