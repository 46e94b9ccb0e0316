using Hearth.Core.Config;
using Hearth.Models;
using Hearth.Models.Safetensors;
using Hearth.Tokenization;

namespace Hearth.Engine.Loading;

/// <summary>Everything loaded from one model folder. Disposing it releases the model and the checkpoint mapping.</summary>
public sealed class LoadedModel : IDisposable
{
    private readonly ModelCheckpoint _checkpoint;

    internal LoadedModel(string directory, ModelCheckpoint checkpoint, ICausalLanguageModel model, Tokenizer? tokenizer)
    {
        Directory = directory;
        _checkpoint = checkpoint;
        Model = model;
        Tokenizer = tokenizer;
        var eos = new SortedSet<int>();
        foreach (var id in checkpoint.Generation.EosTokenIds ?? []) eos.Add(id);
        foreach (var id in checkpoint.Config.EosTokenIds ?? []) eos.Add(id);
        if (eos.Count == 0 && tokenizer?.Config.EosToken is { } eosToken && tokenizer!.TokenToId(eosToken) is { } eosId) eos.Add(eosId);
        EosTokenIds = eos;
    }

    public string Directory { get; }

    public ICausalLanguageModel Model { get; }

    /// <summary>Null when the folder has no tokenizer.json; then requests run on token ids and produce no text.</summary>
    public Tokenizer? Tokenizer { get; }

    /// <summary>The tokenizer, or a clear error for commands that need text.</summary>
    public Tokenizer RequireTokenizer() =>
        Tokenizer ?? throw new Hearth.Core.HearthException($"the model folder {Directory} has no tokenizer.json");

    public ModelConfig Config => _checkpoint.Config;

    public GenerationConfig Generation => _checkpoint.Generation;

    /// <summary>Token ids that end generation: generation_config's, config's, and the tokenizer's eos as a fallback.</summary>
    public IReadOnlySet<int> EosTokenIds { get; }

    public void Dispose()
    {
        Model.Dispose();
        _checkpoint.Dispose();
    }
}
