using Hearth.Backends.Cpu;
using Hearth.Engine.Loading;
using Hearth.Models.Gguf;

namespace Hearth.Engine.Tests.Gguf;

/// <summary>The parrot's GGUF files, each loaded once on one CPU backend for all the cases of a test class.</summary>
public sealed class GgufParrotFixture : IDisposable
{
    private readonly Dictionary<GgufFileType, LoadedModel> _models = [];

    public CpuBackend Backend { get; } = new();

    public LoadedModel Get(GgufFileType type)
    {
        lock (_models)
        {
            if (!_models.TryGetValue(type, out var model))
                _models[type] = model = ModelLoader.Load(GgufModelFiles.Parrot(type), Backend, maxTokensPerStep: 64, maxLogitRows: 1);
            return model;
        }
    }

    public void Dispose()
    {
        foreach (var model in _models.Values) model.Dispose();
        Backend.Dispose();
    }
}
