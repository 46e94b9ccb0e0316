using Hearth.Backends;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Models.Config;
using Hearth.Models.Safetensors;

namespace Hearth.Models;

/// <summary>
/// A Hugging Face model folder opened for inference: its config, its generation defaults and its tensors,
/// memory-mapped. Tensors returned here point into the mappings and die with this object.
/// </summary>
public sealed class ModelCheckpoint : IDisposable
{
    private readonly SafetensorsStore _store;

    private ModelCheckpoint(string directory, ModelConfig config, GenerationConfig generation, SafetensorsStore store)
    {
        Directory = directory;
        Config = config;
        Generation = generation;
        _store = store;
    }

    public string Directory { get; }

    public ModelConfig Config { get; }

    public GenerationConfig Generation { get; }

    public IReadOnlyCollection<string> TensorNames => _store.TensorNames;

    public SafetensorsStore Safetensors => _store;

    public static ModelCheckpoint Open(string directory)
    {
        if (!System.IO.Directory.Exists(directory)) throw new HearthException($"model folder {directory} does not exist");
        var config = ModelConfigParser.Load(Path.Combine(directory, ModelConfigParser.FileName));
        var generation = GenerationConfigParser.LoadOrDefault(Path.Combine(directory, GenerationConfigParser.FileName));
        var store = SafetensorsStore.Open(directory);
        return new ModelCheckpoint(directory, config, generation, store);
    }

    public bool TryGetTensor(string name, out Tensor tensor) => _store.TryGetTensor(name, out tensor);

    public Tensor GetTensor(string name) =>
        _store.TryGetTensor(name, out var tensor)
            ? tensor
            : throw new HearthException($"tensor '{name}' is missing from the checkpoint in {Directory}");

    public void Dispose() => _store.Dispose();
}
