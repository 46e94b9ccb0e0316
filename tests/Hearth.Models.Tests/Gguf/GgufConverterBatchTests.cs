using System.Runtime.InteropServices;
using Hearth.Backends;
using Hearth.Backends.Gguf;
using Hearth.Core;
using Hearth.Models.Gguf;
using Hearth.Models.Synthetic;

namespace Hearth.Models.Tests.Gguf;

/// <summary>
/// The converter quantizes rows in parallel batches: every quantized tensor must hold exactly the row-by-row
/// codec output in row order, whatever the batch size (a batch smaller than a row, several rows, the whole tensor).
/// </summary>
public sealed class GgufConverterBatchTests : IDisposable
{
    private static readonly SyntheticModelShape Shape = new(
        "gguf-batches", 0x6b47, HiddenSize: 256, NumLayers: 1, NumHeads: 4, NumKvHeads: 2, HeadDim: 64,
        IntermediateSize: 512, TieWordEmbeddings: false, RopeTheta: 1000000.0, MaxPositionEmbeddings: 512, VocabSize: 1000);

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "hearth-gguf-batches-" + Guid.NewGuid().ToString("N"));

    public GgufConverterBatchTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(1)]          // one row a batch
    [InlineData(1000)]       // a few rows a batch, the last batch short
    [InlineData(64 << 20)]   // every tensor in one batch
    public void Quantized_rows_are_the_row_by_row_codec_output_in_order(int batchBytes)
    {
        string path = Path.Combine(_folder, $"model-{batchBytes}.gguf");
        using var checkpoint = ModelCheckpoint.Open(SyntheticCheckpoint.Cached(Shape));
        GgufConverter.Convert(checkpoint, path, GgufFileType.Q4_K_M, null, batchBytes);
        using var file = GgufFile.Open(path);
        int checkedTensors = 0;
        foreach (string name in checkpoint.TensorNames)
        {
            if (GgufTensorNames.FromHuggingFace(name) is not { } ggufName || !file.TryGetInfo(ggufName, out var info)) continue;
            if (info.Type is GgufTensorType.F32 or GgufTensorType.F16) continue;
            Assert.True(ExpectedBytes(checkpoint.GetTensor(name), info.Type).AsSpan().SequenceEqual(file.GetBytes(info)), $"{ggufName} ({info.Type})");
            checkedTensors++;
        }
        Assert.True(checkedTensors >= 7, $"only {checkedTensors} quantized tensors checked");
    }

    private static unsafe byte[] ExpectedBytes(Tensor tensor, GgufTensorType type)
    {
        int rows = tensor.Shape[0], columns = tensor.Shape[1];
        int rowBytes = (int)GgufBlockLayout.RowSizeBytes(type, columns);
        var expected = new byte[(long)rows * rowBytes];
        var values = new float[columns];
        Assert.Equal(DType.BF16, tensor.DType);
        for (int r = 0; r < rows; r++)
        {
            var source = new ReadOnlySpan<ushort>((ushort*)tensor.Data + (long)r * columns, columns);
            for (int c = 0; c < columns; c++) values[c] = BFloat16Bits.ToSingle(source[c]);
            GgufBlockCodec.Quantize(type, values, expected.AsSpan(r * rowBytes, rowBytes));
        }
        return expected;
    }
}
