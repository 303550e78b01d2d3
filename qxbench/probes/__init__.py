"""What the probe tasks compute from a model, and the records they return (the room between
:mod:`qxbench.lmeval`, which asks, and the rooms below it, which it may import: :mod:`qxbench.engine`,
:mod:`qxbench.interp`, :mod:`qxbench.metrics`, :mod:`qxbench.data`; of ``lmeval`` only :mod:`qxbench.lmeval.calls`).

- :mod:`~qxbench.probes.selfexplain`: self-generated counterfactuals and explanations; their labels and
  perplexities through any lm-eval LM in :mod:`~qxbench.probes.scoring`; the insertion test
  (:mod:`~qxbench.probes.insertion`) and the reading of each answer (:mod:`~qxbench.probes.answers`), under the
  prompt sets of :mod:`~qxbench.probes.prompts` and the options of :mod:`~qxbench.probes.options`.
- :mod:`~qxbench.probes.attribution` and :mod:`~qxbench.probes.multihop`: the memorize / multihop probes on the
  readers of :mod:`qxbench.interp`; a full-precision model's kept attributions and labels in
  :mod:`~qxbench.probes.refcache`.
- :mod:`~qxbench.probes.neurons` (with :mod:`~qxbench.probes.salient` and its data-parallel
  :mod:`~qxbench.probes.shards`) and :mod:`~qxbench.probes.nexttoken` (calib).
- the records: :mod:`~qxbench.probes.results`, what is logged (:mod:`~qxbench.probes.logged`, through
  :mod:`~qxbench.probes.codec`) and the answers of older protocols (:mod:`~qxbench.probes.legacy`).
"""
