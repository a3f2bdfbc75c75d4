"""The one place where numba settings live.

``fastmath`` is off everywhere: the kernels are compared bit-for-bit against numpy twins.
Compiled code is cached on disk (``cache=True``) so a second process starts without recompiling.
"""

import numba

#: Options for serial kernels.
JIT = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")
#: Options for kernels whose ``prange`` iterations write disjoint outputs.
JIT_PARALLEL = dict(JIT, parallel=True)


def jit(fn):
    """Compile ``fn`` as a serial kernel."""
    return numba.njit(**JIT)(fn)


def jit_parallel(fn):
    """Compile ``fn`` as a parallel kernel (only for disjoint-output ``prange`` loops)."""
    return numba.njit(**JIT_PARALLEL)(fn)


#: Below this many inner iterations a kernel runs serially even when threads are available:
#: waking numba's thread pool costs ~10 us on an idle machine and milliseconds on a loaded
#: one (spinning OpenMP workers), far more than a batch-1 update of a 256 x 785 tile takes.
PARALLEL_MIN_WORK = 1 << 21


def serial_and_parallel(fn):
    """Compile ``fn`` twice: ``(serial, parallel)``; ``prange`` is a plain range in the first."""
    return numba.njit(**JIT)(fn), numba.njit(**JIT_PARALLEL)(fn)


def use_parallel(work: int) -> bool:
    """Whether a kernel with ``work`` inner iterations should take its parallel version."""
    return work >= PARALLEL_MIN_WORK and numba.get_num_threads() > 1


def inline(fn):
    """Compile a small helper that other kernels inline (not cached on its own)."""
    return numba.njit(nogil=True, inline="always", error_model="numpy")(fn)
