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


@intrinsic
def _lowest_bit(typingctx, x):
    """Index of the lowest set bit of a non-zero uint64 (LLVM ``cttz``; ``tzcnt`` on x86-64)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], context.get_constant(types.boolean, True))

    return sig, codegen
