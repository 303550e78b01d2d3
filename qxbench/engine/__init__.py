"""Model passes without probe meaning: greedy decoding in which a stopped row leaves the batch (``greedy``),
greedy answers to a batch of prompts through an lm-eval ``HFLM`` (``generate``), log-likelihoods of answer
choices with shared prompt parts run once (``choices``), how a prompt reaches a chat model and where an answer
ends (``chat``), and how a model's forward is called (``forward``). Imports no other room."""
