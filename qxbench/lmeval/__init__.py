"""What touches lm-eval: ``calls``, the lm-eval ``Instance`` s a probe sends to any lm-eval LM (the one module
of this room a probe may import)."""
