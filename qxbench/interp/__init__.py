"""Model internals without probe meaning: the one table that maps architectures to module names (``arch``),
forward hooks registered together and removed in ``finally`` (``hooks``), and the hook-based readers of the
residual stream, sublayer outputs and MLP activations, the logit lens and dense weights (``internals``).
Imports no other room."""
