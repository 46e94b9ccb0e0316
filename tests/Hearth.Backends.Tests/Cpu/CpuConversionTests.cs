using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

/// <summary>Every 16-bit pattern, through the vector widening of each SIMD level (via Embedding), converts exactly.</summary>
public unsafe class CpuConversionTests
{
    public static TheoryData<CpuSimdLevel> Levels() => CpuCases.AllLevels();

    [Theory]
    [MemberData(nameof(Levels))]
    public void Every_f16_and_bf16_bit_pattern_widens_exactly(CpuSimdLevel level)
    {
        using var arena = new TestArena(level);
        const int hidden = 64, vocab = 65536 / hidden;
        var ids = Enumerable.Range(0, vocab).ToArray();
        foreach (var dtype in new[] { DType.F16, DType.BF16 })
        {
            var table = arena.Zeros(dtype, new Shape(vocab, hidden));
            for (int i = 0; i < 65536; i++) ((ushort*)table.Data)[i] = (ushort)i;
            var output = arena.Zeros(DType.F32, new Shape(vocab, hidden));
            arena.Backend.Embedding(table, arena.I32(ids, new Shape(vocab)), output);
            var y = arena.Read(output);
            for (int i = 0; i < 65536; i++)
            {
                float expected = dtype == DType.F16 ? (float)BitConverter.UInt16BitsToHalf((ushort)i) : BFloat16Bits.ToSingle((ushort)i);
                if (float.IsNaN(expected)) Assert.True(float.IsNaN(y[i]), $"{dtype} 0x{i:X4} should be NaN, got {y[i]}");
                else Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(y[i]), $"{dtype} 0x{i:X4}: expected {expected}, got {y[i]}");
            }
        }
    }
}
