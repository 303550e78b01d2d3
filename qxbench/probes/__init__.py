"""What the probe tasks ask of a model, beyond lm-eval's three request types.

- :mod:`~qxbench.data.classify`: the classification-document schema shared by ``cf_flip`` and
  ``nle_sim``, its prompts, and the adapters from real datasets (SST-2, AG News, e-SNLI).
- :mod:`~qxbench.probes.selfexplain`: self-generated counterfactuals and explanations, built on
  the model's own loglikelihood / generation requests.
- :mod:`~qxbench.interp.arch`: the one table that maps architectures to module names.
- :mod:`~qxbench.interp.internals`: hook-based readers of the residual stream, sublayer outputs and
  MLP neuron activations (one forward pass, hooks removed in ``finally``), logit lens, dense weights.
- :mod:`~qxbench.probes.attribution` and :mod:`~qxbench.probes.multihop`: the memorize / multihop
  probes on top of those readers.
"""
