"""labkit: the helper package of the multi-arch myth lab."""

__version__ = "0.1.0"
