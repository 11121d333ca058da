"""The package's version, in a module of its own: ``setup.cfg`` reads it, and so
does the cache key (``_cache.py``), without importing the package."""

__version__ = "0.1.0"
