using System.Runtime.InteropServices;
using Hearth.Backends;
using Hearth.Backends.Gguf;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Random quantized host matrices for the GEMM checks and timings (native memory, freed on Dispose): int4 groups
/// with zeros or symmetric, FP8 with 128×128 block scales, and GGUF rows quantized by the real block codec.
/// </summary>
internal sealed unsafe class QuantHostMatrices(RandomData random) : IDisposable
{
    private readonly List<nint> _blocks = [];

    public QuantizedMatrix Int4(int outFeatures, int inFeatures, int group, bool zeros, bool permuted = false)
    {
        int groups = inFeatures / group;
        var data = Host<byte>((long)outFeatures * inFeatures / 2);
        for (int i = 0; i < data.Length; i++) data[i] = (byte)random.Next(256);
        var scales = Host<float>((long)outFeatures * groups);
        var zeroPoints = Host<float>((long)outFeatures * groups);
        for (int i = 0; i < scales.Length; i++)
        {
            scales[i] = (float)(Half)(0.01f + 0.02f * random.Uniform(1, 0, 1)[0]);
            zeroPoints[i] = random.Next(16);
        }
        Tensor? perm = null;
        if (permuted)
        {
            var order = Enumerable.Range(0, inFeatures).ToArray();
            random.Shuffle(order);
            var permSpan = Host<int>(inFeatures);
            order.CopyTo(permSpan);
            perm = Wrap(permSpan, DType.I32, new Shape(inFeatures));
        }
        return QuantizedMatrix.Int4Group(outFeatures, inFeatures, group, Wrap(data, DType.U8, new Shape(outFeatures, inFeatures / 2)),
            Wrap(scales, DType.F32, new Shape(outFeatures, groups)), zeros ? Wrap(zeroPoints, DType.F32, new Shape(outFeatures, groups)) : null, perm);
    }

    /// <summary>FP8 with 128×128 blocks; every seventh value tiny (subnormal e4m3) when <paramref name="subnormals"/>.</summary>
    public QuantizedMatrix Fp8(int outFeatures, int inFeatures, bool subnormals = true)
    {
        const int Block = 128;
        int scaleRows = (outFeatures + Block - 1) / Block, scaleCols = (inFeatures + Block - 1) / Block;
        var data = Host<byte>((long)outFeatures * inFeatures);
        var values = random.Uniform(data.Length, -400f, 400f);
        for (int i = 0; i < data.Length; i++) data[i] = Float8E4M3.FromSingle(values[i] * (subnormals && i % 7 == 0 ? 1e-3f : 1f));
        var scales = Host<float>((long)scaleRows * scaleCols);
        for (int i = 0; i < scales.Length; i++) scales[i] = 1e-4f * (1 + i % 5);
        return QuantizedMatrix.Fp8Block(outFeatures, inFeatures, Block, Block, Wrap(data, DType.F8E4M3, new Shape(outFeatures, inFeatures)),
            Wrap(scales, DType.F32, new Shape(scaleRows, scaleCols)));
    }

    /// <summary>GGUF rows of different magnitudes and a nonzero mean, quantized by the block codec (slow: small matrices only).</summary>
    public QuantizedMatrix Gguf(WeightFormat format, int outFeatures, int inFeatures)
    {
        int rowBytes = inFeatures / format.GgufBlockElements() * format.GgufBlockBytes();
        var data = Host<byte>((long)outFeatures * rowBytes);
        var type = GgufWeightFormats.ToTensorType(format);
        for (int r = 0; r < outFeatures; r++)
        {
            var row = random.Uniform(inFeatures, -0.05f, 0.08f * (1 + r % 3));
            GgufBlockCodec.Quantize(type, row, data.Slice(r * rowBytes, rowBytes));
        }
        return QuantizedMatrix.Gguf(format, outFeatures, inFeatures, Wrap(data, DType.U8, new Shape(outFeatures, rowBytes)));
    }

    /// <summary>GGUF blocks of random bytes with small finite super-block scales: for timing, where values do not matter.</summary>
    public QuantizedMatrix GgufRandomBytes(WeightFormat format, int outFeatures, int inFeatures)
    {
        int blockBytes = format.GgufBlockBytes(), blocksPerRow = inFeatures / format.GgufBlockElements();
        var data = Host<byte>((long)outFeatures * blocksPerRow * blockBytes);
        FillRandom(data);
        ushort d = BitConverter.HalfToUInt16Bits((Half)0.001f);
        for (long b = 0; b < (long)outFeatures * blocksPerRow; b++)
        {
            var block = data.Slice((int)(b * blockBytes), blockBytes);
            if (format == WeightFormat.Q6_K) MemoryMarshal.Write(block[208..], in d);
            else MemoryMarshal.Write(block, in d);
            if (format == WeightFormat.Q4_K) MemoryMarshal.Write(block[2..], in d);
        }
        return QuantizedMatrix.Gguf(format, outFeatures, inFeatures, Wrap(data, DType.U8, new Shape(outFeatures, blocksPerRow * blockBytes)));
    }

    /// <summary>Random nibbles with one scale and zero point: for timing, where values do not matter.</summary>
    public QuantizedMatrix Int4RandomBytes(int outFeatures, int inFeatures, int group)
    {
        var data = Host<byte>((long)outFeatures * inFeatures / 2);
        FillRandom(data);
        var scales = Host<float>((long)outFeatures * inFeatures / group);
        var zeros = Host<float>((long)outFeatures * inFeatures / group);
        scales.Fill(0.01f);
        zeros.Fill(8f);
        return QuantizedMatrix.Int4Group(outFeatures, inFeatures, group, Wrap(data, DType.U8, new Shape(outFeatures, inFeatures / 2)),
            Wrap(scales, DType.F32, new Shape(outFeatures, inFeatures / group)), Wrap(zeros, DType.F32, new Shape(outFeatures, inFeatures / group)));
    }

    /// <summary>Random e4m3 bytes (no NaN) with one block scale: for timing.</summary>
    public QuantizedMatrix Fp8RandomBytes(int outFeatures, int inFeatures)
    {
        var data = Host<byte>((long)outFeatures * inFeatures);
        FillRandom(data);
        foreach (ref byte b in data) b &= 0xF7;
        var scales = Host<float>((long)(outFeatures / 128) * (inFeatures / 128));
        scales.Fill(1e-3f);
        return QuantizedMatrix.Fp8Block(outFeatures, inFeatures, 128, 128, Wrap(data, DType.F8E4M3, new Shape(outFeatures, inFeatures)),
            Wrap(scales, DType.F32, new Shape(outFeatures / 128, inFeatures / 128)));
    }

    private static void FillRandom(Span<byte> data)
    {
        var bytes = new byte[1 << 20];
        var fill = new Random(13);
        for (int start = 0; start < data.Length; start += bytes.Length)
        {
            fill.NextBytes(bytes);
            bytes.AsSpan(0, Math.Min(bytes.Length, data.Length - start)).CopyTo(data[start..]);
        }
    }

    /// <summary>The host e4m3 bytes [out, in] of an FP8 matrix made here.</summary>
    public static ReadOnlySpan<byte> Fp8Data(QuantizedMatrix m) =>
        new((void*)m.Data.Data, checked((int)((long)m.OutFeatures * m.InFeatures)));

    /// <summary>The host F32 block scales [⌈out/128⌉, ⌈in/128⌉] of an FP8 matrix made here.</summary>
    public static ReadOnlySpan<float> Fp8Scales(QuantizedMatrix m) =>
        new((void*)m.Scales!.Value.Data, checked((int)m.Scales.Value.NumElements));

    private Span<T> Host<T>(long count) where T : unmanaged
    {
        nint block = (nint)NativeMemory.AlignedAlloc((nuint)Math.Max(64, count * sizeof(T)), 64);
        _blocks.Add(block);
        return new Span<T>((void*)block, checked((int)count));
    }

    private static Tensor Wrap<T>(Span<T> span, DType dtype, Shape shape) where T : unmanaged
    {
        fixed (T* p = span) return new Tensor((nint)p, dtype, shape);
    }

    /// <summary>Frees the host copies (after upload the GPU keeps its own).</summary>
    public void Dispose()
    {
        foreach (nint block in _blocks) NativeMemory.AlignedFree((void*)block);
        _blocks.Clear();
    }
}
