using Hearth.Backends.Gguf;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

/// <summary>
/// The GPU layouts of quantized weights, made once at upload so that every GEMV streams 16-byte chunks with no
/// per-block header to parse, and the code that repacks host matrices into them. Three layouts cover every format:
/// <list type="bullet">
/// <item><see cref="CudaQuantFamily.G4"/>: U8 [out, in/2] in Int4Group's 32-weight chunks (byte b = weight b in the
/// low nibble, weight 16 + b in the high one); params half2 [out, in/group] = (scale, offset), w = q·scale + offset.
/// Int4Group (offset = −zero·scale), GGUF Q4_0 (group 32, offset −8·d) and Q4_K (group 32, its 8 sub-blocks:
/// scale d·sc, offset −dmin·m).</item>
/// <item><see cref="CudaQuantFamily.G8"/>: I8 [out, in]; params half2 [out, in/group], w = q·scale + offset.
/// GGUF Q8_0 (group 32), Q5_K (group 32, q 0..31, offset −dmin·m) and, with HEARTH_CUDA_Q6K_COMPACT=0, Q6_K (group
/// 16, q − 32, scale d·sc).</item>
/// <item><see cref="CudaQuantFamily.G6"/>: Q6_K straight into tiles (<see cref="CudaQuantG6"/>), 0.82 byte a weight.</item>
/// <item><see cref="CudaQuantFamily.F8"/>: the checkpoint's e4m3 [out, in] and F32 block scales, unchanged.</item>
/// </list>
/// Scales and offsets are rounded to f16 (AWQ/GPTQ checkpoints store f16 scales; GGUF's are f16 products).
/// </summary>
internal static class CudaQuantLayout
{
    /// <summary>
    /// The GPU layout a format is repacked into, or null when the CUDA backend has no kernel for it. Q6_K takes the
    /// compact <see cref="CudaQuantFamily.G6"/> unless <paramref name="compactQ6K"/> is false (the older G8 repack, kept
    /// for A/B timing: <c>HEARTH_CUDA_Q6K_COMPACT=0</c>); Q4_K the compact <see cref="CudaQuantFamily.K4"/> unless
    /// <paramref name="compactQ4K"/> is false (the G4 repack, <c>HEARTH_CUDA_Q4K_COMPACT=0</c>).
    /// </summary>
    public static CudaQuantFamily? FamilyOf(WeightFormat format, bool compactQ6K = true, bool compactQ4K = true) => format switch
    {
        WeightFormat.Q4_K => compactQ4K ? CudaQuantFamily.K4 : CudaQuantFamily.G4,
        WeightFormat.Int4Group or WeightFormat.Q4_0 => CudaQuantFamily.G4,
        WeightFormat.Q6_K => compactQ6K ? CudaQuantFamily.G6 : CudaQuantFamily.G8,
        WeightFormat.Q8_0 or WeightFormat.Q5_K => CudaQuantFamily.G8,
        WeightFormat.Fp8Block => CudaQuantFamily.F8,
        _ => null,
    };

    /// <summary>Weights sharing one param (G4, G8) or one scale column (F8).</summary>
    public static int GroupSize(QuantizedMatrix host) => host.Format switch
    {
        WeightFormat.Q4_0 or WeightFormat.Q4_K or WeightFormat.Q8_0 or WeightFormat.Q5_K => 32,
        WeightFormat.Q6_K => 16,
        _ => host.GroupSize,
    };

    public static long DataRowBytes(CudaQuantFamily family, int inFeatures) => family == CudaQuantFamily.G4 ? inFeatures / 2 : inFeatures;

    /// <summary>Params (one uint each: f16 scale in the low half, f16 offset in the high half) per row of G4/G8.</summary>
    public static int ParamsPerRow(QuantizedMatrix host) => host.InFeatures / GroupSize(host);

    /// <summary>
    /// Repacks rows [rowStart, rowStart + rowCount) of a host G4/G8 matrix: <paramref name="data"/> gets
    /// <see cref="DataRowBytes"/> per row, <paramref name="parameters"/> <see cref="ParamsPerRow"/> per row.
    /// </summary>
    public static unsafe void PackRows(QuantizedMatrix host, int rowStart, int rowCount, Span<byte> data, Span<uint> parameters)
    {
        var family = FamilyOf(host.Format, compactQ6K: false, compactQ4K: false) ?? throw new ArgumentException($"{host.Format} has no CUDA layout");
        if (family == CudaQuantFamily.F8) throw new ArgumentException("Fp8Block is uploaded unchanged");
        int k = host.InFeatures, groups = ParamsPerRow(host);
        long rowBytes = DataRowBytes(family, k);
        for (int i = 0; i < rowCount; i++)
        {
            int r = rowStart + i;
            var dataRow = data.Slice((int)(i * rowBytes), (int)rowBytes);
            var paramRow = parameters.Slice(i * groups, groups);
            if (host.Format == WeightFormat.Int4Group)
            {
                new ReadOnlySpan<byte>((byte*)host.Data.Data + r * rowBytes, (int)rowBytes).CopyTo(dataRow);
                float* scales = (float*)host.Scales!.Value.Data + (long)r * groups;
                float* zeros = host.Zeros is { } z ? (float*)z.Data + (long)r * groups : null;
                for (int g = 0; g < groups; g++)
                {
                    float zero = zeros is null ? 8f : zeros[g];
                    paramRow[g] = Pack(scales[g], -zero * scales[g]);
                }
                continue;
            }
            long rawRowBytes = host.RowBytes;
            var raw = new ReadOnlySpan<byte>((byte*)host.Data.Data + r * rawRowBytes, (int)rawRowBytes);
            int blockBytes = host.Format.GgufBlockBytes(), blockElements = host.Format.GgufBlockElements();
            for (int b = 0; b < k / blockElements; b++)
            {
                var block = raw.Slice(b * blockBytes, blockBytes);
                int first = b * blockElements;
                switch (host.Format)
                {
                    case WeightFormat.Q4_0: PackQ4_0(block, dataRow.Slice(first / 2, 16), paramRow.Slice(first / 32, 1)); break;
                    case WeightFormat.Q4_K: PackQ4K(block, dataRow.Slice(first / 2, 128), paramRow.Slice(first / 32, 8)); break;
                    case WeightFormat.Q8_0: PackQ8_0(block, dataRow.Slice(first, 32), paramRow.Slice(first / 32, 1)); break;
                    case WeightFormat.Q5_K: PackQ5K(block, dataRow.Slice(first, 256), paramRow.Slice(first / 32, 8)); break;
                    case WeightFormat.Q6_K: PackQ6K(block, dataRow.Slice(first, 256), paramRow.Slice(first / 16, 16)); break;
                    default: throw new ArgumentException($"{host.Format} has no CUDA layout");
                }
            }
        }
    }

    /// <summary>
    /// Decodes one row of a G4/G8 layout on the host, as the kernels do: the reference for tests and for checking
    /// a repacked matrix against its format's own decoder.
    /// </summary>
    public static void DequantizeRow(CudaQuantFamily family, int inFeatures, int groupSize, ReadOnlySpan<byte> dataRow,
        ReadOnlySpan<uint> paramRow, Span<float> output)
    {
        for (int i = 0; i < inFeatures; i++)
        {
            uint p = paramRow[i / groupSize];
            float scale = (float)BitConverter.UInt16BitsToHalf((ushort)p), offset = (float)BitConverter.UInt16BitsToHalf((ushort)(p >> 16));
            int q;
            if (family == CudaQuantFamily.G4)
            {
                int chunk = i / 32, inChunk = i % 32;
                byte packed = dataRow[chunk * 16 + inChunk % 16];
                q = inChunk < 16 ? packed & 0xF : packed >> 4;
            }
            else
            {
                q = (sbyte)dataRow[i];
            }
            output[i] = MathF.FusedMultiplyAdd(q, scale, offset);
        }
    }

    private static uint Pack(float scale, float offset) =>
        BitConverter.HalfToUInt16Bits((Half)scale) | ((uint)BitConverter.HalfToUInt16Bits((Half)offset) << 16);

    private static float HalfAt(ReadOnlySpan<byte> bytes) => (float)BitConverter.ToHalf(bytes);

    private static void PackQ4_0(ReadOnlySpan<byte> block, Span<byte> chunk, Span<uint> param)
    {
        // Q4_0's 16 bytes already hold weight j low and j + 16 high: the G4 chunk layout.
        block.Slice(2, 16).CopyTo(chunk);
        float d = HalfAt(block);
        param[0] = Pack(d, -8f * d);
    }

    private static void PackQ4K(ReadOnlySpan<byte> block, Span<byte> chunks, Span<uint> param)
    {
        float d = HalfAt(block), dmin = HalfAt(block[2..]);
        var packed = block.Slice(4, 12);
        var qs = block.Slice(16, 128);
        for (int s = 0; s < 8; s++)
        {
            var (scale, min) = KQuantCodec.ScaleMin(packed, s);
            param[s] = Pack(d * scale, -dmin * min);
            int shift = (s & 1) * 4;
            var source = qs.Slice(32 * (s / 2), 32);
            for (int b = 0; b < 16; b++)
                chunks[16 * s + b] = (byte)(((source[b] >> shift) & 0xF) | (((source[16 + b] >> shift) & 0xF) << 4));
        }
    }

    private static void PackQ8_0(ReadOnlySpan<byte> block, Span<byte> values, Span<uint> param)
    {
        block.Slice(2, 32).CopyTo(values);
        param[0] = Pack(HalfAt(block), 0f);
    }

    private static void PackQ5K(ReadOnlySpan<byte> block, Span<byte> values, Span<uint> param)
    {
        float d = HalfAt(block), dmin = HalfAt(block[2..]);
        var packed = block.Slice(4, 12);
        var qh = block.Slice(16, 32);
        var qs = block.Slice(48, 128);
        for (int s = 0; s < 8; s++)
        {
            var (scale, min) = KQuantCodec.ScaleMin(packed, s);
            param[s] = Pack(d * scale, -dmin * min);
            int shift = (s & 1) * 4;
            for (int l = 0; l < 32; l++)
                values[32 * s + l] = (byte)(((qs[32 * (s / 2) + l] >> shift) & 0xF) | (((qh[l] >> s) & 1) << 4));
        }
    }

    private static void PackQ6K(ReadOnlySpan<byte> block, Span<byte> values, Span<uint> param)
    {
        float d = HalfAt(block[208..]);
        for (int s = 0; s < 16; s++) param[s] = Pack(d * (sbyte)block[192 + s], 0f);
        for (int i = 0; i < 256; i++)
        {
            int h = i / 128;
            var (ql, nibble, pair) = Q6KCodec.Position(i % 128);
            int q = ((block[64 * h + ql] >> nibble) & 0xF) | (((block[128 + 32 * h + i % 32] >> pair) & 3) << 4);
            values[i] = (byte)(sbyte)(q - 32);
        }
    }
}
