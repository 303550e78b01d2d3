"""Data builders over real datasets: LRE relation files (``lre``) and two-hop chains composed from them
(``twohop``, ``qxbench data twohop``). Importing this package is cheap (standard library only)."""
