using System.Runtime.Intrinsics;
using Hearth.Backends.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cpu;

/// <summary>The float8_e4m3fn KV cache (--kv-cache-dtype fp8) on the CPU backend, the reference for the GPU's.</summary>
public unsafe class CpuFp8KvCacheTests
{
    private static readonly (int SeqLen, int QueryLen)[] Sequences = [(37, 1), (20, 20), (50, 7), (1, 1), (150, 3)];

    [Theory]
    [MemberData(nameof(CpuCases.AllLevels), MemberType = typeof(CpuCases))]
    public void Attention_reads_an_fp8_cache(CpuSimdLevel level)
    {
        // Head dim 36 leaves a tail after every vector width, so both the vector and the scalar decode run.
        new AttentionScenario(level, kvHeads: 2, ratio: 4, headDim: 64, blockSize: 16, DType.F8E4M3, Sequences, seed: 11).Check(1e-5);
        new AttentionScenario(level, kvHeads: 2, ratio: 1, headDim: 36, blockSize: 5, DType.F8E4M3, Sequences, seed: 12).Check(1e-5);
    }

    [Fact]
    public void WriteKvCache_rounds_to_nearest_e4m3_and_saturates()
    {
        using var arena = new TestArena(CpuSimd.Best);
        float[] keys = [0.3f, -500f, 1e-3f, 448f, 0f, 3.1415927f, -0.0625f, 1e6f];
        float[] values = keys.Select(k => -k / 2).ToArray();
        var shape = new Shape(2, 4, 1, 4);
        var cache = new KvCacheLayer(arena.Zeros(DType.F8E4M3, shape), arena.Zeros(DType.F8E4M3, shape));
        arena.Backend.WriteKvCache(arena.F32(keys, new Shape(2, 1, 4)), arena.F32(values, new Shape(2, 1, 4)), cache, arena.I32([5, 1], new Shape(2)));
        byte[] k = Bytes(cache.Key), v = Bytes(cache.Value);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(Float8E4M3.FromSingle(keys[i]), k[5 * 4 + i]);
            Assert.Equal(Float8E4M3.FromSingle(keys[4 + i]), k[1 * 4 + i]);
            Assert.Equal(Float8E4M3.FromSingle(values[i]), v[5 * 4 + i]);
        }
        Assert.Equal(0xFE, k[5 * 4 + 1]);            // -500 saturates to -448
        Assert.Equal(0x7E, k[1 * 4 + 3]);            // 1e6 saturates to 448
        Assert.Equal(0.3f, Float8E4M3.ToSingle(k[5 * 4]), 0.3f / 16);   // 3 mantissa bits: within half a step
        Assert.Equal(0, k[0]);                        // untouched slots stay zero
    }

    [Fact]
    public void Every_fp8_code_decodes_exactly_at_every_vector_width()
    {
        byte* codes = stackalloc byte[256];
        for (int b = 0; b < 256; b++) codes[b] = (byte)b;
        for (int b = 0; b < 256; b += 16)
        {
            var v512 = Fp8Kind.Load<Simd512, Vector512<float>>(codes, b);
            var v256 = Fp8Kind.Load<Simd256, Vector256<float>>(codes, b);
            var v128 = Fp8Kind.Load<Simd128, Vector128<float>>(codes, b);
            for (int i = 0; i < 16; i++)
            {
                int code = b + i;
                if ((code & 0x7F) == 0x7F) continue;   // NaN: never written (the writer saturates)
                float expected = Float8E4M3.ToSingle((byte)code);
                Assert.Equal(expected, v512[i]);
                if (i < 8) Assert.Equal(expected, v256[i]);
                if (i < 4) Assert.Equal(expected, v128[i]);
                Assert.Equal(expected, Fp8Kind.LoadScalar(codes, code));
                Assert.Equal(expected, Fp8Kind.Load<SimdScalar, float>(codes, code));
            }
        }
    }

    private static byte[] Bytes(Tensor tensor)
    {
        var bytes = new byte[tensor.NumElements];
        new ReadOnlySpan<byte>((void*)tensor.Data, bytes.Length).CopyTo(bytes);
        return bytes;
    }
}
