"""qxbench: how quantization changes a language model's explainability and interpretability.

Importing this package is cheap (no torch, no lm-eval): the ``.pth`` start-up hook imports
``qxbench._lmeval_hook`` in every interpreter.
"""

__version__ = "0.1.0"
