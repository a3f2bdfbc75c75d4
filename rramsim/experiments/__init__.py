"""Study code: task runners for worker processes and the process-pool runner with its resumable
per-task cache. The library layers below never import this package; the command line and the
scripts in ``studies/`` do.

- :mod:`~rramsim.experiments.runner`: :func:`run_tasks` (processes, cache, progress);
- :mod:`~rramsim.experiments.mnist`: MNIST-MLP training (zero-shifting study, ``rramsim train``);
- :mod:`~rramsim.experiments.binary`: binary / BinaryDuo / BitSplit training and mismatch runs;
- :mod:`~rramsim.experiments.regression`: the WES-loss study runs and their summaries;
- :mod:`~rramsim.experiments.mapping`: saved networks on arrays over ADC resolutions.
"""
