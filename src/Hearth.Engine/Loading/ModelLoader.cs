using Hearth.Backends;
using Hearth.Core;
using Hearth.Models.Qwen3;
using Hearth.Models;
using Hearth.Models.Safetensors;
using Hearth.Tokenization;

namespace Hearth.Engine.Loading;

/// <summary>Opens a model folder: checkpoint, weights bound to a backend, the forward pass and the tokenizer.</summary>
public static class ModelLoader
{
    public static LoadedModel Load(string directory, IBackend backend, int maxTokensPerStep, int maxLogitRows)
    {
        if (!System.IO.Directory.Exists(directory)) throw new HearthException($"model folder not found: {directory}");
        var checkpoint = ModelCheckpoint.Open(directory);
        try
        {
            // A model folder without a tokenizer still runs on token ids (benchmarks, parity tests).
            var tokenizer = File.Exists(Path.Combine(directory, "tokenizer.json")) ? Tokenizer.Load(directory) : null;
            var weights = Qwen3Weights.Load(checkpoint, backend);
            Qwen3Model model;
            try
            {
                model = new Qwen3Model(weights, backend, maxTokensPerStep, maxLogitRows);
            }
            catch
            {
                weights.Dispose();
                throw;
            }
            return new LoadedModel(directory, checkpoint, model, tokenizer);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }
}
