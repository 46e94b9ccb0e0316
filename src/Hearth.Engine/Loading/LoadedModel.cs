using Hearth.Core.Config;
using Hearth.Models;
using Hearth.Models.Safetensors;
using Hearth.Tokenization;

namespace Hearth.Engine.Loading;

/// <summary>Everything loaded from one model folder or GGUF file. Disposing it releases the model and the checkpoint mapping.</summary>
public sealed class LoadedModel : IDisposable
{
    private readonly IDisposable _source;

    internal LoadedModel(string directory, ModelCheckpoint checkpoint, ICausalLanguageModel model, Tokenizer? tokenizer)
        : this(directory, checkpoint, checkpoint.Config, checkpoint.Generation, model, tokenizer)
    {
    }

    /// <param name="source">What the weights point into (a checkpoint or a GGUF file), disposed after the model.</param>
    internal LoadedModel(string directory, IDisposable source, ModelConfig config, GenerationConfig generation,
        ICausalLanguageModel model, Tokenizer? tokenizer)
    {
        Directory = directory;
        _source = source;
        Config = config;
        Generation = generation;
        Model = model;
        Tokenizer = tokenizer;
        var eos = new SortedSet<int>();
        foreach (var id in generation.EosTokenIds ?? []) eos.Add(id);
        foreach (var id in config.EosTokenIds ?? []) eos.Add(id);
        if (eos.Count == 0 && tokenizer?.Config.EosToken is { } eosToken && tokenizer!.TokenToId(eosToken) is { } eosId) eos.Add(eosId);
        EosTokenIds = eos;
    }

    /// <summary>The model folder, or the GGUF file's path.</summary>
    public string Directory { get; }

    public ICausalLanguageModel Model { get; }

    /// <summary>Null when the folder has no tokenizer.json; then requests run on token ids and produce no text.</summary>
    public Tokenizer? Tokenizer { get; }

    /// <summary>The tokenizer, or a clear error for commands that need text.</summary>
    public Tokenizer RequireTokenizer() =>
        Tokenizer ?? throw new Hearth.Core.HearthException($"the model folder {Directory} has no tokenizer.json");

    public ModelConfig Config { get; }

    public GenerationConfig Generation { get; }

    /// <summary>Token ids that end generation: generation_config's, config's, and the tokenizer's eos as a fallback.</summary>
    public IReadOnlySet<int> EosTokenIds { get; }

    public void Dispose()
    {
        Model.Dispose();
        _source.Dispose();
    }
}
