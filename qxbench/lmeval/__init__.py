"""What touches lm-eval (with :mod:`qxbench._lmeval_hook`, the start-up hook, which keeps its path): the ``qx``
model (``adapter``, an ``HFLM``) and the probe request types it answers (``requests``; resumed under
``--use_cache`` by ``resume``), the probe task base class (``probe``) and the explanation probes' task side
(``explaintask``), ``qxbench eval`` (``eval_cli``), lm-eval's side of a quiet run (``logsetup``), and the lm-eval
``Instance`` s a probe sends to any lm-eval LM (``calls``). The top room: it may import every other room; no room
imports it, but the probes import ``calls`` (which imports lm-eval only)."""
