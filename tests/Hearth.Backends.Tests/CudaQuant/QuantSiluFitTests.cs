using Hearth.Backends.Cuda;
using Hearth.Core;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Which quantized gate|up pairs LinearSiluMul sends to the fused gemv_silu_*_stream kernel: a pair it cannot
/// serve exactly (different formats or parameter layouts, rows, an act-order permutation, a shape the streaming GEMV
/// does not take) must fall back to Linear then SiluMul, or the fused kernel would read the up part wrongly.
/// </summary>
public class QuantSiluFitTests
{
    private static CudaQuantPart Part(CudaQuantFamily family = CudaQuantFamily.G4, int rows = 17408, int k = 5120, int group = 128,
        int blockRows = 0, int scaleColumns = 0, nint permutation = 0) =>
        new(family, WeightFormat.Int4Group, rows, k, 0x1000, 0x2000, group, blockRows, scaleColumns, permutation, 0);

    [Fact]
    public void A_14B_int4_gate_up_pair_is_fused()
    {
        Assert.True(CudaBackend.QuantSiluFits(Part(), Part()));
    }

    [Fact]
    public void A_14B_fp8_gate_up_pair_with_block_scales_is_fused()
    {
        var fp8 = Part(CudaQuantFamily.F8, blockRows: 128, scaleColumns: 40);
        Assert.True(CudaBackend.QuantSiluFits(fp8, fp8 with { Data = 0x3000 }));
    }

    [Theory]
    [InlineData("family")]
    [InlineData("group")]
    [InlineData("rows")]
    [InlineData("k")]
    [InlineData("permutation")]
    [InlineData("scale layout")]
    public void Pairs_that_differ_run_unfused(string what)
    {
        var gate = Part();
        var up = what switch
        {
            "family" => Part(CudaQuantFamily.G8),
            "group" => Part(group: 64),
            "rows" => Part(rows: 17392),
            "k" => Part(k: 4096),
            "permutation" => Part(permutation: 0x4000),
            _ => Part(blockRows: 128),
        };
        Assert.False(CudaBackend.QuantSiluFits(gate, up));
        Assert.False(CudaBackend.QuantSiluFits(up, gate));
    }

    [Fact]
    public void A_k_that_is_not_whole_stream_stages_runs_unfused()
    {
        // int4 stages are 16 k-tiles (256 inputs): 5120 + 128 is not a whole number of them.
        Assert.False(CudaBackend.QuantSiluFits(Part(k: 5248), Part(k: 5248)));
    }
}
