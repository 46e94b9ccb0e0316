using Hearth.Core;

namespace Hearth.Backends;

/// <summary>
/// One [OutFeatures, InFeatures] matrix of a <see cref="LinearWeight"/> in a quantized format, as views of
/// backend memory. Layouts, by <see cref="Format"/>:
/// <list type="bullet">
/// <item><see cref="WeightFormat.Int4Group"/>: <see cref="Data"/> U8 [out, in/2]; each row is cut into 32-weight
/// chunks of 16 bytes, byte k of a chunk holding weight k in its low nibble and weight 16 + k in its high nibble,
/// unsigned 0..15. <see cref="Scales"/> F32 [out, in/GroupSize]; <see cref="Zeros"/> F32 [out, in/GroupSize] zero
/// points in quantized units, or none for the symmetric zero point 8; w = (q - zero) · scale.
/// <see cref="InputPermutation"/> I32 [in] or none: stored column i multiplies input element perm[i] (GPTQ act-order
/// checkpoints, whose columns are sorted by group at load so each group is contiguous).</item>
/// <item><see cref="WeightFormat.Fp8Block"/>: <see cref="Data"/> F8E4M3 [out, in]; <see cref="Scales"/> F32
/// [⌈out/BlockRows⌉, ⌈in/GroupSize⌉]; w = fp8 · scale of its block (a checkpoint's weight_scale_inv).</item>
/// <item>GGUF block formats (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K): <see cref="Data"/> U8 [out, in/blockElems · blockBytes],
/// the raw GGUF blocks, row-major; <see cref="GroupSize"/> is the block's weight count.</item>
/// <item><see cref="WeightFormat.Dense"/>: <see cref="Data"/> is a plain BF16/F16/F32 [out, in] matrix, so a dense
/// matrix can be fused with quantized ones.</item>
/// </list>
/// </summary>
public sealed class QuantizedMatrix
{
    /// <summary>Int4Group packs weights in chunks of this many.</summary>
    public const int Int4ChunkElements = 32;

    private QuantizedMatrix(WeightFormat format, int outFeatures, int inFeatures, Tensor data, Tensor? scales, Tensor? zeros,
        Tensor? inputPermutation, int groupSize, int blockRows)
    {
        Format = format;
        OutFeatures = outFeatures;
        InFeatures = inFeatures;
        Data = data;
        Scales = scales;
        Zeros = zeros;
        InputPermutation = inputPermutation;
        GroupSize = groupSize;
        BlockRows = blockRows;
    }

    public WeightFormat Format { get; }

    public int OutFeatures { get; }

    public int InFeatures { get; }

    /// <summary>The packed weights; see the class summary for each format's layout.</summary>
    public Tensor Data { get; }

    public Tensor? Scales { get; }

    public Tensor? Zeros { get; }

    public Tensor? InputPermutation { get; }

    /// <summary>Weights along the input axis sharing one scale (Int4Group, Fp8Block) or one GGUF block.</summary>
    public int GroupSize { get; }

    /// <summary>Output rows sharing one scale (Fp8Block's block height); 1 for the other formats.</summary>
    public int BlockRows { get; }

    /// <summary>Bytes of one stored row of <see cref="Data"/>.</summary>
    public long RowBytes => Data.SizeBytes / OutFeatures;

    /// <summary>A plain matrix [out, in] in BF16, F16 or F32.</summary>
    public static QuantizedMatrix Dense(Tensor weight)
    {
        if (weight.Shape.Rank != 2) throw new ArgumentException($"a dense part must be [out, in], got {weight.Shape}");
        if (weight.DType is not (DType.BF16 or DType.F16 or DType.F32))
            throw new ArgumentException($"a dense part must be BF16, F16 or F32, got {weight.DType}");
        return new QuantizedMatrix(WeightFormat.Dense, weight.Shape[0], weight.Shape[1], weight, null, null, null, weight.Shape[1], 1);
    }

    public static QuantizedMatrix Int4Group(int outFeatures, int inFeatures, int groupSize, Tensor data, Tensor scales,
        Tensor? zeros = null, Tensor? inputPermutation = null)
    {
        if (groupSize <= 0 || groupSize % Int4ChunkElements != 0)
            throw new ArgumentException($"Int4Group needs a group size that is a multiple of {Int4ChunkElements}, got {groupSize}");
        if (inFeatures % groupSize != 0)
            throw new ArgumentException($"Int4Group: {inFeatures} input features are not a multiple of the group size {groupSize}");
        int groups = inFeatures / groupSize;
        Expect(data, DType.U8, new Shape(outFeatures, inFeatures / 2), "Int4Group data");
        Expect(scales, DType.F32, new Shape(outFeatures, groups), "Int4Group scales");
        if (zeros is { } z) Expect(z, DType.F32, new Shape(outFeatures, groups), "Int4Group zeros");
        if (inputPermutation is { } p) Expect(p, DType.I32, new Shape(inFeatures), "Int4Group input permutation");
        return new QuantizedMatrix(WeightFormat.Int4Group, outFeatures, inFeatures, data, scales, zeros, inputPermutation, groupSize, 1);
    }

    public static QuantizedMatrix Fp8Block(int outFeatures, int inFeatures, int blockRows, int blockColumns, Tensor data, Tensor scales)
    {
        if (blockRows <= 0 || blockColumns <= 0) throw new ArgumentException($"Fp8Block needs positive block sizes, got {blockRows}×{blockColumns}");
        Expect(data, DType.F8E4M3, new Shape(outFeatures, inFeatures), "Fp8Block data");
        Expect(scales, DType.F32, new Shape(CeilDiv(outFeatures, blockRows), CeilDiv(inFeatures, blockColumns)), "Fp8Block scales");
        return new QuantizedMatrix(WeightFormat.Fp8Block, outFeatures, inFeatures, data, scales, null, null, blockColumns, blockRows);
    }

    /// <summary>Raw GGUF blocks of one of the GGUF formats; data U8 [out, in/blockElems · blockBytes].</summary>
    public static QuantizedMatrix Gguf(WeightFormat format, int outFeatures, int inFeatures, Tensor data)
    {
        int blockElements = format.GgufBlockElements();
        if (blockElements == 0) throw new ArgumentException($"{format} is not a GGUF block format");
        if (inFeatures % blockElements != 0)
            throw new ArgumentException($"{format}: {inFeatures} input features are not a multiple of its {blockElements}-weight block");
        Expect(data, DType.U8, new Shape(outFeatures, inFeatures / blockElements * format.GgufBlockBytes()), $"{format} data");
        return new QuantizedMatrix(format, outFeatures, inFeatures, data, null, null, null, blockElements, 1);
    }

    /// <summary>The same matrix with every tensor passed through <paramref name="map"/> (an upload to a device).</summary>
    public QuantizedMatrix WithTensors(Func<Tensor, Tensor> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        return new QuantizedMatrix(Format, OutFeatures, InFeatures, map(Data), Scales is { } s ? map(s) : null,
            Zeros is { } z ? map(z) : null, InputPermutation is { } p ? map(p) : null, GroupSize, BlockRows);
    }

    private static void Expect(Tensor tensor, DType dtype, Shape shape, string what)
    {
        if (tensor.DType != dtype || tensor.Shape != shape)
            throw new ArgumentException($"{what} is {tensor.DType}{tensor.Shape}, expected {dtype}{shape}");
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;

    public override string ToString() => $"{Format}[{OutFeatures}, {InFeatures}]";
}
