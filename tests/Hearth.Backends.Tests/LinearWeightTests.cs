using Hearth.Backends;
using Hearth.Core;
using Xunit;

namespace Hearth.Backends.Tests;

/// <summary>
/// <see cref="LinearWeight.PartsAreContiguous"/> decides whether CUDA runs one GEMM over a fused projection's parts
/// or one per part; a wrong "true" would multiply memory that is not the weight.
/// </summary>
public sealed class LinearWeightTests
{
    private const nint Base = 0x10000;

    private static Tensor At(nint address, int rows, int columns, DType dtype = DType.BF16) => new(address, dtype, new Shape(rows, columns));

    [Fact]
    public void Parts_back_to_back_in_order_are_contiguous()
    {
        var q = At(Base, 8, 16);
        var k = At(Base + (nint)q.SizeBytes, 2, 16);
        var v = At(Base + (nint)(q.SizeBytes + k.SizeBytes), 2, 16);
        Assert.True(LinearWeight.Dense(q, k, v).PartsAreContiguous);
        Assert.True(LinearWeight.Dense(q).PartsAreContiguous);
    }

    [Fact]
    public void A_gap_a_swapped_order_or_a_different_dtype_is_not_contiguous()
    {
        var q = At(Base, 8, 16);
        var k = At(Base + (nint)q.SizeBytes, 2, 16);
        Assert.False(LinearWeight.Dense(q, At(Base + (nint)q.SizeBytes + 64, 2, 16)).PartsAreContiguous);
        Assert.False(LinearWeight.Dense(k, q).PartsAreContiguous);
        Assert.False(LinearWeight.Dense(q, At(Base + (nint)q.SizeBytes, 1, 16, DType.F32)).PartsAreContiguous);
    }

    [Fact]
    public void Quantized_weights_are_never_contiguous_dense_parts()
    {
        var dense = QuantizedMatrix.Dense(At(Base, 4, 16));
        Assert.False(LinearWeight.Quantized(dense).PartsAreContiguous);
    }

    [Fact]
    public void The_default_fused_upload_uploads_each_part()
    {
        using var cpu = new Hearth.Backends.Cpu.CpuBackend(1);
        float[] a = [1, 2, 3, 4], b = [5, 6];
        unsafe
        {
            fixed (float* pa = a, pb = b)
            {
                var parts = ((IBackend)cpu).UploadFusedWeight([new Tensor((nint)pa, DType.F32, new Shape(2, 2)), new Tensor((nint)pb, DType.F32, new Shape(1, 2))]);
                Assert.Equal(2, parts.Length);
                Assert.Equal(new Shape(2, 2), parts[0].Shape);
                Assert.Equal(new Shape(1, 2), parts[1].Shape);
            }
        }
    }
}
