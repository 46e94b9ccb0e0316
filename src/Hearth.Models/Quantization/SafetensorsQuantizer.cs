using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hearth.Core;
using Hearth.Models.Safetensors;

namespace Hearth.Models.Quantization;

/// <summary>
/// Writes an AWQ, GPTQ or FP8 model folder from an unquantized Qwen3/Qwen2 folder by round-to-nearest:
/// the decoder layers' seven projections are quantized, embeddings, lm_head and norms are copied as they
/// are, config.json gains the quantization_config the published exporters write, and every other file
/// (tokenizer, generation config) is copied. AWQ/GPTQ use groups of 128 inputs, or the largest of 64 and 32
/// that divides every projection's input size; GPTQ is written symmetric, without act-order, in the older
/// "gptq" zero-point convention that most published GPTQ checkpoints use.
/// </summary>
public sealed partial class SafetensorsQuantizer(QuantizationMethod method) : IModelQuantizer
{
    private const long ShardBytes = 2L << 30;

    public string Name => method switch
    {
        QuantizationMethod.Awq => "awq-int4",
        QuantizationMethod.Gptq => "gptq-int4",
        _ => "fp8",
    };

    public string Description => method switch
    {
        QuantizationMethod.Awq => "AWQ GEMM 4-bit, zero points, f16 group scales (round-to-nearest, no activation search)",
        QuantizationMethod.Gptq => "GPTQ 4-bit symmetric, f16 group scales (round-to-nearest, no Hessian updates)",
        _ => "FP8 e4m3 weights with f32 scales per 128x128 block (as Qwen3-FP8)",
    };

    [GeneratedRegex(@"^model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)\.weight$")]
    private static partial Regex ProjectionWeight();

    /// <summary>The quantization_config this quantizer writes for a checkpoint.</summary>
    public QuantizationConfig ConfigFor(ModelCheckpoint source)
    {
        if (method == QuantizationMethod.Fp8)
            return new QuantizationConfig { Method = method, BlockRows = 128, BlockColumns = 128 };
        var inputSizes = Projections(source).Select(name => source.GetTensor(name).Shape[1]).Distinct().ToList();
        int group = new[] { 128, 64, 32 }.FirstOrDefault(g => inputSizes.All(n => n % g == 0));
        if (group == 0)
            throw new HearthException($"{Name}: projection input sizes {string.Join(", ", inputSizes)} share no group size of 128, 64 or 32");
        return new QuantizationConfig
        {
            Method = method,
            GroupSize = group,
            HasZeroPoints = method == QuantizationMethod.Awq,
            ZerosStoredMinusOne = method == QuantizationMethod.Gptq,
        };
    }

    public void Quantize(ModelCheckpoint source, string outputPath, IProgress<QuantizeProgress>? progress)
    {
        ArgumentNullException.ThrowIfNull(source);
        string configPath = Path.Combine(source.Directory, "config.json");
        if (QuantizationConfig.Load(configPath) is { } existing)
            throw new HearthException($"{source.Directory} is already quantized ({existing.Method}); quantize an unquantized BF16 model");
        var config = ConfigFor(source);
        var projections = Projections(source).ToHashSet(StringComparer.Ordinal);
        var names = source.TensorNames.OrderBy(n => n, StringComparer.Ordinal).ToList();
        Directory.CreateDirectory(outputPath);
        foreach (string stale in Directory.EnumerateFiles(outputPath, "*.safetensors*")) File.Delete(stale);
        // Shards are written as soon as they fill, so memory holds one shard, not the whole quantized model.
        var shardFiles = new List<string>();
        var weightMap = new List<(string Tensor, int Shard)>();
        var shard = new List<SafetensorsEntry>();
        long shardBytes = 0, totalBytes = 0;
        void Flush()
        {
            if (shard.Count == 0) return;
            string file = Path.Combine(outputPath, string.Create(CultureInfo.InvariantCulture, $"shard-{shardFiles.Count}.tmp"));
            SafetensorsWriter.Write(file, shard);
            foreach (var entry in shard) weightMap.Add((entry.Name, shardFiles.Count));
            shardFiles.Add(file);
            totalBytes += shardBytes;
            shard = [];
            shardBytes = 0;
        }
        for (int t = 0; t < names.Count; t++)
        {
            string name = names[t];
            var tensor = source.GetTensor(name);
            IReadOnlyList<SafetensorsEntry> written;
            if (projections.Contains(name))
            {
                if (tensor.DType is not (DType.BF16 or DType.F16 or DType.F32))
                    throw new HearthException($"tensor '{name}' is {tensor.DType}; {Name} quantizes BF16, F16 or F32 weights");
                string module = name[..^".weight".Length];
                written = QuantizedTensorWriter.Write(module, ToFloat(tensor), tensor.Shape[0], tensor.Shape[1], config);
            }
            else
            {
                written = [Copy(name, tensor)];
            }
            long bytes = written.Sum(e => (long)e.Data.Length);
            if (shardBytes > 0 && shardBytes + bytes > ShardBytes) Flush();
            shard.AddRange(written);
            shardBytes += bytes;
            progress?.Report(new QuantizeProgress(t + 1, names.Count, name));
        }
        Flush();
        var finalNames = new List<string>();
        for (int i = 0; i < shardFiles.Count; i++)
        {
            string finalName = string.Create(CultureInfo.InvariantCulture, $"model-{i + 1:D5}-of-{shardFiles.Count:D5}.safetensors");
            File.Move(shardFiles[i], Path.Combine(outputPath, finalName), overwrite: true);
            finalNames.Add(finalName);
        }
        WriteIndex(Path.Combine(outputPath, SafetensorsWriter.IndexFileName), weightMap.Select(w => (w.Tensor, finalNames[w.Shard])), totalBytes);
        WriteConfig(configPath, Path.Combine(outputPath, "config.json"), config);
        foreach (string file in Directory.EnumerateFiles(source.Directory))
        {
            string fileName = Path.GetFileName(file);
            if (fileName == "config.json" || fileName.EndsWith(".safetensors", StringComparison.Ordinal)
                || fileName == SafetensorsWriter.IndexFileName) continue;
            string destination = Path.Combine(outputPath, fileName);
            File.Copy(file, destination, overwrite: true);
            // Read-only sources (shared fixtures) would make the copy read-only, and a second run would fail on it.
            File.SetAttributes(destination, FileAttributes.Normal);
        }
    }

    private static void WriteIndex(string path, IEnumerable<(string Tensor, string File)> weightMap, long totalBytes)
    {
        var map = new JsonObject();
        foreach (var (tensor, file) in weightMap.OrderBy(w => w.Tensor, StringComparer.Ordinal)) map[tensor] = file;
        var root = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = totalBytes }, ["weight_map"] = map };
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    private static IEnumerable<string> Projections(ModelCheckpoint source) =>
        source.TensorNames.Where(n => ProjectionWeight().IsMatch(n) && source.GetTensor(n).Shape.Rank == 2);

    private static void WriteConfig(string sourcePath, string destinationPath, QuantizationConfig config)
    {
        var root = JsonNode.Parse(File.ReadAllText(sourcePath))?.AsObject()
            ?? throw new HearthException($"{sourcePath} is not a JSON object");
        root["quantization_config"] = JsonNode.Parse(config.ToJson());
        File.WriteAllText(destinationPath, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    private static unsafe SafetensorsEntry Copy(string name, Backends.Tensor tensor)
    {
        var shape = new long[tensor.Shape.Rank];
        for (int i = 0; i < shape.Length; i++) shape[i] = tensor.Shape[i];
        return new SafetensorsEntry(name, tensor.DType, shape, new ReadOnlySpan<byte>((void*)tensor.Data, checked((int)tensor.SizeBytes)).ToArray());
    }

    /// <summary>One projection widened to f32 (a single matrix at a time, only while it is being quantized).</summary>
    private static unsafe float[] ToFloat(Backends.Tensor tensor)
    {
        var values = new float[tensor.NumElements];
        // In parallel slices: on a 14B checkpoint this widening was the quantizer's largest single-threaded step.
        const int Slice = 1 << 20;
        nint data = tensor.Data;
        DType dtype = tensor.DType;
        Parallel.For(0, (values.Length + Slice - 1) / Slice, slice =>
        {
            int start = slice * Slice, end = Math.Min(start + Slice, values.Length);
            var source16 = (ushort*)data;
            var source32 = (float*)data;
            for (int i = start; i < end; i++)
            {
                values[i] = dtype switch
                {
                    DType.BF16 => BFloat16Bits.ToSingle(source16[i]),
                    DType.F16 => (float)BitConverter.UInt16BitsToHalf(source16[i]),
                    _ => source32[i],
                };
            }
        });
        return values;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name}: {Description}");
}
