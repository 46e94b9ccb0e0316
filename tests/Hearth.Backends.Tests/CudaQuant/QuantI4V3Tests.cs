using System.Text.RegularExpressions;
using Hearth.Backends.Cuda;
using Hearth.Core;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Session 11 (branch i4c): the int4 decode launches of HEARTH_CUDA_I4_V3's modes take session 10's kernel shapes and
/// grids (the q − z operands on Int4Group weights only); the half-sums fragments give every x row's group sum, and the
/// device arithmetic that recovers each group's zero point from its f16 (scale, offset) pair is exact for every f16
/// scale the format can hold (both emulated here).
/// </summary>
public class QuantI4V3Tests
{
    private const int H100 = 132;

    [Theory]
    [InlineData(448, 5120, false, false, (int)CudaQuantI4Kernel.HalfSumsTwoStage, 448)]       // 14B q|k|v
    [InlineData(320, 5120, false, false, (int)CudaQuantI4Kernel.HalfSumsThreeStage, 320)]     // o
    [InlineData(320, 17408, false, false, (int)CudaQuantI4Kernel.HalfSumsThreeStage, 320)]    // down
    [InlineData(2176, 5120, true, true, (int)CudaQuantI4Kernel.HalfSumsThreeStage, 363)]      // gate|up + SiLU, balanced grid
    [InlineData(2176, 5120, true, false, (int)CudaQuantI4Kernel.HalfSumsThreeStage, 363)]     // the unfused pair: same kernel, same sums
    [InlineData(529, 5120, false, false, (int)CudaQuantI4Kernel.None, 0)]                     // many waves: the stream kernel still
    public void The_default_takes_the_half_sums_kernel_of_session_10s_shape_and_grid(long tiles, int k, bool gateUp, bool fused, int kernel, int blocks)
    {
        var session10 = CudaQuantI4.Plan(CudaQuantFamily.G4, k, 128, tiles, 1, gateUp, fused, session10: true, H100);
        var plan = CudaQuantI4.Session11(session10, CudaQuantI4.ParseV3(null), integerZeros: false);
        Assert.Equal(new CudaQuantI4Launch((CudaQuantI4Kernel)kernel, blocks), plan);
    }

    [Theory]
    [InlineData(null, CudaQuantI4V3.HalfSums)]
    [InlineData("1", CudaQuantI4V3.HalfSums)]
    [InlineData("0", CudaQuantI4V3.Off)]
    [InlineData("qz", CudaQuantI4V3.ZeroOperands)]
    [InlineData("xp", CudaQuantI4V3.PointerX)]
    public void The_switch_parses(string? value, CudaQuantI4V3 mode) => Assert.Equal(mode, CudaQuantI4.ParseV3(value));

    [Theory]
    [InlineData(320L, CudaQuantI4V3.Off, true, (int)CudaQuantI4Kernel.ThreeStage)]
    [InlineData(448L, CudaQuantI4V3.Off, true, (int)CudaQuantI4Kernel.TwoStage)]
    [InlineData(320L, CudaQuantI4V3.ZeroOperands, true, (int)CudaQuantI4Kernel.ZeroThreeStage)]
    [InlineData(448L, CudaQuantI4V3.ZeroOperands, true, (int)CudaQuantI4Kernel.ZeroTwoStage)]
    [InlineData(320L, CudaQuantI4V3.ZeroOperands, false, (int)CudaQuantI4Kernel.ThreeStage)]     // no integer zero points: session 10's
    [InlineData(320L, CudaQuantI4V3.PointerX, false, (int)CudaQuantI4Kernel.PointerXThreeStage)]
    [InlineData(448L, CudaQuantI4V3.PointerX, true, (int)CudaQuantI4Kernel.PointerXTwoStage)]
    [InlineData(448L, CudaQuantI4V3.HalfSums, true, (int)CudaQuantI4Kernel.HalfSumsTwoStage)]
    public void Each_mode_keeps_the_kernel_shape_and_grid(long tiles, CudaQuantI4V3 mode, bool integerZeros, int expected)
    {
        var session10 = CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, 128, tiles, 1, gateUp: false, fusedSilu: false, session10: true, H100);
        var plan = CudaQuantI4.Session11(session10, mode, integerZeros);
        Assert.Equal((CudaQuantI4Kernel)expected, plan.Kernel);
        Assert.Equal(session10.Blocks, plan.Blocks);
    }

    [Theory]
    [InlineData(WeightFormat.Int4Group, true)]
    [InlineData(WeightFormat.Q4_0, false)]
    [InlineData(WeightFormat.Q4_K, false)]
    [InlineData(WeightFormat.Q8_0, false)]
    public void Only_Int4Group_offsets_are_integer_zero_points(WeightFormat format, bool integer) =>
        Assert.Equal(integer, CudaQuantI4.HasIntegerZeros(format));

    [Fact]
    public void Session_9s_kernel_and_the_stream_kernel_are_left_alone()
    {
        var session9 = CudaQuantI4.Plan(CudaQuantFamily.G4, 5120, 128, 320, 1, gateUp: false, fusedSilu: false, session10: false, H100);
        foreach (var mode in Enum.GetValues<CudaQuantI4V3>())
        {
            Assert.Equal(CudaQuantI4Kernel.Session9, CudaQuantI4.Session11(session9, mode, true).Kernel);
            Assert.False(CudaQuantI4.Session11(default, mode, true).Taken);
        }
    }

    /// <summary>
    /// x's group sums at half the MMAs (mode 8): A = {xs[j − 1].x, xs[j − 1].y, xs[j].x, xs[j].y} as a0 a1 a2 a3 (m16n8k16:
    /// a0 and a2 are row g, a1 and a3 row g + 8), B = ones; C row g then sums the lanes' first two values of both k-tiles,
    /// row g + 8 the other two, lane 4g + t adds its c0 and c2, and the fold reads x row 2t's sum from lane 8t, row 2t + 1's
    /// from lane 8t + 4. Emulated lane by lane against the plain sums.
    /// </summary>
    [Fact]
    public void The_half_sums_fragments_give_every_x_rows_group_sum()
    {
        var random = new Random(5);
        const int KTiles = 8;   // one group of 128
        var x = new float[8, KTiles * 16];
        for (int r = 0; r < 8; r++) for (int c = 0; c < KTiles * 16; c++) x[r, c] = random.Next(-64, 64) / 16f;
        // Lane 4g + t loads x row g, k 4t..4t+3 of every k-tile (the B fragment order of the g4 tiles).
        float Load(int lane, int kTile, int i) => x[lane >> 2, kTile * 16 + 4 * (lane & 3) + i];
        var rowSum = new float[32];
        for (int j = 1; j < KTiles; j += 2)
        {
            var c = new float[16];   // C rows (every column alike: B is ones)
            for (int lane = 0; lane < 32; lane++)
                for (int i = 0; i < 2; i++)
                {
                    c[lane >> 2] += Load(lane, j - 1, i) + Load(lane, j, i);                // a0 = xs[j - 1].x, a2 = xs[j].x: row g
                    c[(lane >> 2) + 8] += Load(lane, j - 1, 2 + i) + Load(lane, j, 2 + i);  // a1 = xs[j - 1].y, a3 = xs[j].y: row g + 8
                }
            for (int lane = 0; lane < 32; lane++) rowSum[lane] += c[lane >> 2] + c[(lane >> 2) + 8];   // c0 + c2
        }
        for (int lane = 0; lane < 32; lane++)
        {
            int t = lane & 3;
            float expected0 = 0, expected1 = 0;
            for (int c = 0; c < KTiles * 16; c++) { expected0 += x[2 * t, c]; expected1 += x[2 * t + 1, c]; }
            Assert.Equal(expected0, rowSum[8 * t]);
            Assert.Equal(expected1, rowSum[8 * t + 4]);
        }
    }

    [Fact]
    public void The_kernel_source_instances_the_session_11_kernels()
    {
        using Stream stream = typeof(CudaBackend).Assembly.GetManifestResourceStream("Hearth.Cuda.Kernels.gemv_quant_i4.cu")
            ?? throw new InvalidOperationException("gemv_quant_i4.cu is not embedded");
        string source = new StreamReader(stream).ReadToEnd();
        foreach (var (kernel, name) in CudaQuantI4.Session11KernelNames)
        {
            var instance = Regex.Match(source, $@"^I4_KERNEL_V\({name}, (\d+), (\d+), (\d+), (\d+), (\d+)\)", RegexOptions.Multiline);
            Assert.True(instance.Success, $"{name} is not instanced in gemv_quant_i4.cu");
            Assert.Equal(CudaQuantI4.Warps, int.Parse(instance.Groups[1].Value));
            bool three = kernel.ToString().EndsWith("ThreeStage", StringComparison.Ordinal);
            Assert.Equal(three ? 3 : 2, int.Parse(instance.Groups[3].Value));
            Assert.Equal(three ? CudaQuantI4.BlocksPerMultiprocessor : CudaQuantI4.TwoStageBlocksPerMultiprocessor, int.Parse(instance.Groups[4].Value));
            string kind = kernel.ToString();
            int mode = kind.StartsWith("HalfSums", StringComparison.Ordinal) ? 8 : kind.StartsWith("Zero", StringComparison.Ordinal) ? 4 : 6;
            Assert.Equal(mode, int.Parse(instance.Groups[5].Value));
        }
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

    // The kernel's steps in f32 (fmaf, fmaxf), then cvt.rn.bf16x2.f32's round to nearest even.
    private static ushort ZeroOperand(float offset, float rcp)
    {
        float y = MathF.FusedMultiplyAdd(offset, rcp, -128f);
        return BFloat16Bits.FromSingle(float.IsNaN(y) || y < -144f ? -144f : y);   // fmaxf keeps the number when one side is NaN
    }
}
