using Hearth.Backends.Cpu;
using Hearth.Engine.Loading;
using Hearth.Models;
using Hearth.Models.Quantization;
using Hearth.Models.Synthetic;
using Hearth.Testing;

namespace Hearth.Engine.Tests.Quantization;

/// <summary>
/// The parrot fixture and a random model (synthetic shape c), each quantized by the same code as
/// `hearth quantize` into every safetensors format, written once per test run into a temporary folder.
/// </summary>
public sealed class QuantizedModelsFixture : IDisposable
{
    public static readonly string[] Formats = ["awq-int4", "gptq-int4", "fp8"];

    private readonly string _root = Path.Combine(Path.GetTempPath(), "hearth-quant-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, LoadedModel> _models = [];
    private readonly object _gate = new();

    public QuantizedModelsFixture()
    {
        Backend = new CpuBackend();
        RandomModelDirectory = SyntheticCheckpoint.Cached(SyntheticModels.C_Gqa8Tied);
    }

    public CpuBackend Backend { get; }

    public string RandomModelDirectory { get; }

    /// <summary>"parrot" or "random", in "bf16" or one of <see cref="Formats"/>; loaded once and kept.</summary>
    public LoadedModel Get(string model, string format)
    {
        lock (_gate)
        {
            string key = model + "/" + format;
            if (_models.TryGetValue(key, out var loaded)) return loaded;
            string source = model == "parrot" ? RepoPaths.Parrot : RandomModelDirectory;
            string directory = source;
            if (format != "bf16")
            {
                directory = Path.Combine(_root, model + "-" + format);
                using var checkpoint = ModelCheckpoint.Open(source);
                ModelQuantizers.Find(format).Quantize(checkpoint, directory, progress: null);
            }
            loaded = ModelLoader.Load(directory, Backend, maxTokensPerStep: 64, maxLogitRows: 64);
            _models[key] = loaded;
            return loaded;
        }
    }

    public void Dispose()
    {
        foreach (var model in _models.Values) model.Dispose();
        Backend.Dispose();
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }
}
