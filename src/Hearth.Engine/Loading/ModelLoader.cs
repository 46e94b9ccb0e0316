using Hearth.Backends;
using Hearth.Core;
using Hearth.Models.Gguf;
using Hearth.Models.Qwen3;
using Hearth.Models;
using Hearth.Models.Safetensors;
using Hearth.Tokenization;

namespace Hearth.Engine.Loading;

/// <summary>
/// Opens a model: a Hugging Face folder (checkpoint, weights bound to a backend, the forward pass and the
/// tokenizer), a single .gguf file, or a folder holding one .gguf file and no config.json.
/// </summary>
public static class ModelLoader
{
    public static LoadedModel Load(string directory, IBackend backend, int maxTokensPerStep, int maxLogitRows)
    {
        using var progress = LoadProgress.Attach(backend, directory);
        var loaded = LoadModel(directory, backend, maxTokensPerStep, maxLogitRows);
        progress?.Complete();
        return loaded;
    }

    private static LoadedModel LoadModel(string directory, IBackend backend, int maxTokensPerStep, int maxLogitRows)
    {
        if (File.Exists(directory)) return LoadGguf(directory, backend, maxTokensPerStep, maxLogitRows);
        if (!System.IO.Directory.Exists(directory)) throw new HearthException($"model folder not found: {directory}");
        if (!File.Exists(Path.Combine(directory, "config.json"))
            && System.IO.Directory.GetFiles(directory, "*.gguf") is [var single])
            return LoadGguf(single, backend, maxTokensPerStep, maxLogitRows);
        var checkpoint = ModelCheckpoint.Open(directory);
        try
        {
            // A model folder without a tokenizer still runs on token ids (benchmarks, parity tests).
            var tokenizer = File.Exists(Path.Combine(directory, "tokenizer.json")) ? Tokenizer.Load(directory) : null;
            var weights = Qwen3Weights.Load(checkpoint, backend);
            return new LoadedModel(directory, checkpoint, CreateModel(weights, backend, maxTokensPerStep, maxLogitRows), tokenizer);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>A self-contained GGUF file: weights, config, tokenizer and chat template all from the file.</summary>
    private static LoadedModel LoadGguf(string path, IBackend backend, int maxTokensPerStep, int maxLogitRows)
    {
        if (!GgufFile.HasMagic(path))
            throw new HearthException($"{path} is neither a model folder nor a GGUF file; Hearth loads Hugging Face folders and GGUF v3 files");
        var file = GgufFile.Open(path);
        try
        {
            var tokenizer = GgufTokenizerLoader.Load(file);
            var weights = GgufQwen3Loader.Load(file, backend);
            var model = CreateModel(weights, backend, maxTokensPerStep, maxLogitRows);
            return new LoadedModel(path, file, weights.Config, GgufModelMetadata.ReadGeneration(file), model, tokenizer);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static Qwen3Model CreateModel(Qwen3Weights weights, IBackend backend, int maxTokensPerStep, int maxLogitRows)
    {
        try
        {
            return new Qwen3Model(weights, backend, maxTokensPerStep, maxLogitRows);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }
}
