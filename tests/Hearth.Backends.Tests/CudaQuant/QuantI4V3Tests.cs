using System.Text.RegularExpressions;
using Hearth.Backends.Cuda;
using Hearth.Core;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Session 11 (branch i4c): the int4 decode launches with q − z operands (gemv_quant_i4.cu's mode 4) take session 10's
/// kernel shapes and grids on Int4Group weights only, and the device arithmetic that recovers each group's zero point
/// from its f16 (scale, offset) pair, emulated here, is exact for every f16 scale the format can hold.
/// </summary>
public class QuantI4V3Tests
{
    private const int H100 = 132;

    [Theory]
    [InlineData(448, 5120, false, false, (int)CudaQuantI4Kernel.ZeroTwoStage, 448)]       // 14B q|k|v
    [InlineData(320, 5120, false, false, (int)CudaQuantI4Kernel.ZeroThreeStage, 320)]     // o
    [InlineData(320, 17408, false, false, (int)CudaQuantI4Kernel.ZeroThreeStage, 320)]    // down
    [InlineData(2176, 5120, true, true, (int)CudaQuantI4Kernel.ZeroThreeStage, 363)]      // gate|up + SiLU, balanced grid
    [InlineData(2176, 5120, true, false, (int)CudaQuantI4Kernel.ZeroThreeStage, 363)]     // the unfused pair: same kernel, same sums
    [InlineData(529, 5120, false, false, (int)CudaQuantI4Kernel.None, 0)]                 // many waves: the stream kernel still
    public void Integer_zero_points_take_the_q_minus_z_kernel_of_session_10s_shape(long tiles, int k, bool gateUp, bool fused, int kernel, int blocks)
    {
        var session10 = CudaQuantI4.Plan(CudaQuantFamily.G4, k, 128, tiles, 1, gateUp, fused, session10: true, H100);
        var plan = CudaQuantI4.Session11(session10, CudaQuantI4.HasIntegerZeros(WeightFormat.Int4Group));
        Assert.Equal(new CudaQuantI4Launch((CudaQuantI4Kernel)kernel, blocks), plan);
        Assert.Equal(session10.Blocks, plan.Blocks);
    }

    [Theory]
    [InlineData(WeightFormat.Q4_0)]
    [InlineData(WeightFormat.Q4_K)]
    [InlineData(WeightFormat.Q8_0)]
    public void Other_formats_keep_session_10s_kernels(WeightFormat format)
    {
        Assert.False(CudaQuantI4.HasIntegerZeros(format));
        var session10 = CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, 128, 448, 1, gateUp: false, fusedSilu: false, session10: true, H100);
        Assert.Equal(session10, CudaQuantI4.Session11(session10, CudaQuantI4.HasIntegerZeros(format)));
    }

    [Fact]
    public void Session_9s_kernel_and_the_stream_kernel_are_left_alone()
    {
        var session9 = CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, 128, 320, 1, gateUp: false, fusedSilu: false, session10: false, H100);
        Assert.Equal(CudaQuantI4Kernel.Session9, CudaQuantI4.Session11(session9, true).Kernel);
        Assert.False(CudaQuantI4.Session11(default, true).Taken);
    }

    [Theory]
    [InlineData(5120, 128, true)]     // 5 stages a warp, 2 groups a stage: 10 folds
    [InlineData(17408, 128, true)]    // 17 stages: 34
    [InlineData(32768, 128, true)]    // 32 stages: 64
    [InlineData(33792, 128, false)]   // 33 stages: 66
    [InlineData(65536, 256, true)]    // groups of a whole stage: 64 folds
    public void The_group_sums_fit_their_shared_memory(int k, int group, bool fits)
    {
        Assert.Equal(fits, CudaQuantI4.SumsFit(k, group));
    }

    /// <summary>
    /// i4_zero_operand: y = max(fma(offset, rcp(scale), −128), −144) rounded to bf16 must be −(128 + z) exactly for every
    /// zero point 0-16 and every positive f16 scale (normal and subnormal) whose offset is finite, offset = f16(−z · scale) as CudaQuantLayout
    /// packs it, with rcp.approx's result anywhere within 2 ulp of 1 / scale. A scale of 0 gives −144 (any z is right).
    /// </summary>
    [Fact]
    public void The_zero_point_comes_back_exactly_from_every_f16_scale()
    {
        int checkedPairs = 0;
        for (ushort bits = 1; bits < 0x7C00; bits++)
        {
            float scale = (float)BitConverter.UInt16BitsToHalf(bits);
            float exact = 1f / scale;
            for (int z = 0; z <= 16; z++)
            {
                float offset = (float)(Half)(-z * scale);
                if (float.IsInfinity(offset)) continue;   // z · scale beyond f16: no layout holds it (the old fold breaks as well)
                for (int ulp = -2; ulp <= 2; ulp++)
                {
                    float rcp = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(exact) + ulp);
                    if (float.IsInfinity(rcp)) continue;
                    ushort operand = ZeroOperand(offset, rcp);
                    Assert.True(BFloat16Bits.FromSingle(-(128f + z)) == operand,
                        $"scale {scale} (0x{bits:X4}) z {z}: {BFloat16Bits.ToSingle(operand)}");
                    checkedPairs++;
                }
            }
        }
        Assert.True(checkedPairs > 2_000_000);
        Assert.Equal(BFloat16Bits.FromSingle(-144f), ZeroOperand(0f, float.PositiveInfinity));
    }

    [Fact]
    public void The_q_minus_z_operand_is_exact_in_bf16()
    {
        // (128 + q) from the lop3 and −(128 + z) add to q − z with no rounding (fma.rn.bf16x2 by 1).
        for (int q = 0; q < 16; q++)
            for (int z = 0; z <= 16; z++)
            {
                float a = BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(128f + q)), b = BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(-(128f + z)));
                Assert.Equal(128f + q, a);
                Assert.Equal(q - z, BFloat16Bits.ToSingle(BFloat16Bits.FromSingle(MathF.FusedMultiplyAdd(a, 1f, b))));
            }
    }

    [Fact]
    public void The_kernel_source_instances_the_session_11_kernels()
    {
        using Stream stream = typeof(CudaBackend).Assembly.GetManifestResourceStream("Hearth.Cuda.Kernels.gemv_quant_i4.cu")
            ?? throw new InvalidOperationException("gemv_quant_i4.cu is not embedded");
        string source = new StreamReader(stream).ReadToEnd();
        foreach (var (name, blocks, mode) in new[] { (CudaQuantI4.ZeroThreeStageKernelName, CudaQuantI4.BlocksPerMultiprocessor, 4),
                     (CudaQuantI4.ZeroTwoStageKernelName, CudaQuantI4.TwoStageBlocksPerMultiprocessor, 4), (CudaQuantI4.SumsThreeStageKernelName, CudaQuantI4.BlocksPerMultiprocessor, 5) })
        {
            var instance = Regex.Match(source, $@"^I4_KERNEL_V\({name}, (\d+), (\d+), (\d+), (\d+), (\d+)\)", RegexOptions.Multiline);
            Assert.True(instance.Success, $"{name} is not instanced in gemv_quant_i4.cu");
            Assert.Equal(CudaQuantI4.Warps, int.Parse(instance.Groups[1].Value));
            Assert.Equal(blocks, int.Parse(instance.Groups[4].Value));
            Assert.Equal(mode, int.Parse(instance.Groups[5].Value));
        }
        Assert.Matches($@"#define I4_SUM_FOLDS {CudaQuantI4.SumFolds}\b", source);
    }

    // The kernel's steps in f32 (fmaf, fmaxf), then cvt.rn.bf16x2.f32's round to nearest even.
    private static ushort ZeroOperand(float offset, float rcp)
    {
        float y = MathF.FusedMultiplyAdd(offset, rcp, -128f);
        return BFloat16Bits.FromSingle(float.IsNaN(y) || y < -144f ? -144f : y);   // fmaxf keeps the number when one side is NaN
    }
}
