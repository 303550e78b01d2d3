"""The human side: a blinded rating study of self-generated explanations (``nle_sim``) and
counterfactuals (``cf_flip``) of full-precision and quantized models.

``make`` (runs -> study directory: items, key, rating pages) -> raters' answer files ->
``collect`` (answers + key -> per-config ratings, paired differences, agreement) -> the leaderboard's
"human ratings" block (:mod:`leaderboard.read.human`, which reads the collect output and nothing else).
"""
