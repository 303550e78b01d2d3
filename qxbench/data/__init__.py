"""Documents and data files, read without a model: the normalised classification documents of ``cf_flip`` and
``nle_sim`` (``classify``), where a variant's documents come from (``datasource``: the Hub or a local copy),
LRE relation files (``lre``) and two-hop chains composed from them (``twohop``, ``qxbench data twohop``).
Imports no other room. Importing this package is cheap (standard library only)."""
