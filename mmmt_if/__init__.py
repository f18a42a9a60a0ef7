"""The ``mmmt-if`` environment for Prime Intellect's ``verifiers``, found by its plugin id (the package name).

    vf-eval mmmt-if --env.taskset.dataset ./mmmt-if --model M --client.base-url URL

The environment is :mod:`generator.rewards.verifiers_env`; this package only names it the way verifiers looks
plugins up. Needs ``pip install "mmmt-if[verifiers]"``.
"""

from generator.rewards.verifiers_env import (
    MMMTIFConfig,
    MMMTIFData,
    MMMTIFEnv,
    MMMTIFEnvConfig,
    MMMTIFTask,
    MMMTIFTaskConfig,
    MMMTIFTaskset,
)

__all__ = ["MMMTIFConfig", "MMMTIFData", "MMMTIFEnv", "MMMTIFEnvConfig", "MMMTIFTask", "MMMTIFTaskConfig",
           "MMMTIFTaskset"]
