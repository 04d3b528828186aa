"""zeroplay: self-play reinforcement learning for code models on purely synthetic data.

One policy proposes programming tasks and solves them; a hardened Docker sandbox runs
every piece of model-written code and judges it with Hypothesis-generated tests; a TRL
GRPO learner updates the policy; Ray runs it all. docs/design.md describes the data flow.

Importing this package is cheap: heavy libraries (torch, ray, transformers, docker) are
imported only by the modules that need them.
"""

from zeroplay.config import Config, load_config
from zeroplay.errors import ZeroplayError

__version__ = "0.1.0"
__all__ = ["Config", "ZeroplayError", "__version__", "load_config"]
