"""numba kernels: private jitted functions taking only arrays and scalars.

Each module here holds kernels (``_name``) plus one public Python wrapper per kernel where the
library needs to call it directly. The numba options live in :mod:`rramsim.kernels._jit`.
Every kernel has a slow, obviously-correct numpy twin in ``tests/naive.py``.
"""
