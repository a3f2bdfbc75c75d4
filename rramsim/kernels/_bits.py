"""Bit-level helpers shared by the kernels (one copy of each LLVM intrinsic)."""

from numba.core import types
from numba.extending import intrinsic


@intrinsic
def _popcount(typingctx, x):
    """Number of set bits of a uint64 (LLVM ``ctpop``; one instruction on x86-64).

    Inside a loop that LLVM vectorises it becomes the vector ``ctpop`` (``vpopcntq`` on
    CPUs with AVX-512 VPOPCNTDQ).
    """
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen
