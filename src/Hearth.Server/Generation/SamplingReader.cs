using System.Text.Json.Nodes;
using Hearth.Core;
using Hearth.Engine.Sampling;
using Hearth.Server.Errors;
using Hearth.Server.Hosting;
using Hearth.Server.Json;

namespace Hearth.Server.Generation;

/// <summary>Reads sampling fields of OpenAI/vLLM and Ollama requests over the model's generation_config defaults.</summary>
internal static class SamplingReader
{
    public static GenerationSettings FromOpenAi(JsonObject body, SamplingDefaults defaults, int vocabSize, bool isChat)
    {
        var n = JsonFields.Int(body, "n");
        if (n is not null && n != 1) throw ApiException.BadRequest($"only n=1 is supported, got n={n}", "n");
        var bestOf = JsonFields.Int(body, "best_of");
        if (bestOf is not null && bestOf != 1) throw ApiException.BadRequest($"only best_of=1 is supported, got {bestOf}", "best_of");

        var maxTokensName = isChat && JsonFields.Has(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        var maxTokens = JsonFields.Int(body, maxTokensName);
        if (maxTokens is < 1) throw ApiException.BadRequest($"{maxTokensName} must be at least 1, got {maxTokens}", maxTokensName);
        var minTokens = JsonFields.Int(body, "min_tokens");
        if (minTokens is not null and not 0) throw ApiException.BadRequest("min_tokens is not supported", "min_tokens");

        bool logprobs;
        int topLogprobs;
        if (isChat)
        {
            logprobs = JsonFields.Bool(body, "logprobs") ?? false;
            topLogprobs = JsonFields.Int(body, "top_logprobs") ?? 0;
            if (topLogprobs > 0 && !logprobs) throw ApiException.BadRequest("top_logprobs requires logprobs to be true", "top_logprobs");
        }
        else
        {
            // Legacy completions: logprobs is the number of alternatives (0..5), absent means none.
            var count = JsonFields.Int(body, "logprobs");
            if (count is < 0 or > 20) throw ApiException.BadRequest($"logprobs must be in [0, 20], got {count}", "logprobs");
            logprobs = count is not null;
            topLogprobs = count ?? 0;
        }

        var sampling = Validated(new SamplingParams
        {
            Temperature = JsonFields.Float(body, "temperature") ?? defaults.Temperature ?? 1.0f,
            TopP = JsonFields.Float(body, "top_p") ?? defaults.TopP ?? 1.0f,
            TopK = JsonFields.Int(body, "top_k") ?? defaults.TopK ?? 0,
            MinP = JsonFields.Float(body, "min_p") ?? defaults.MinP ?? 0f,
            RepetitionPenalty = JsonFields.Float(body, "repetition_penalty") ?? defaults.RepetitionPenalty ?? 1.0f,
            PresencePenalty = JsonFields.Float(body, "presence_penalty") ?? 0f,
            FrequencyPenalty = JsonFields.Float(body, "frequency_penalty") ?? 0f,
            Seed = JsonFields.Long(body, "seed") is { } seed ? unchecked((ulong)seed) : null,
            TopLogprobs = topLogprobs,
        });

        var stopIds = JsonFields.Array(body, "stop_token_ids") is { } ids ? JsonFields.IntList(ids, "stop_token_ids", vocabSize) : [];
        return new GenerationSettings
        {
            Sampling = sampling,
            MaxTokens = maxTokens,
            Stop = NonEmpty(JsonFields.StringOrList(body, "stop"), "stop"),
            StopTokenIds = stopIds,
            IgnoreEos = JsonFields.Bool(body, "ignore_eos") ?? false,
            SkipSpecialTokens = JsonFields.Bool(body, "skip_special_tokens") ?? true,
            Logprobs = logprobs,
        };
    }

    /// <summary>Ollama's "options" object (num_predict, num_ctx, temperature, top_k, top_p, min_p, seed, stop, repeat_penalty...).</summary>
    public static GenerationSettings FromOllama(JsonObject? options, SamplingDefaults defaults)
    {
        options ??= [];
        var numPredict = JsonFields.Int(options, "num_predict");
        // Ollama: -1 generates until a stop, -2 fills the context; both mean "no cap" to the engine.
        if (numPredict is 0 or < -2) throw ApiException.BadRequest($"num_predict must be positive, -1 or -2, got {numPredict}", "num_predict");
        var numCtx = JsonFields.Int(options, "num_ctx");
        if (numCtx is < 1) throw ApiException.BadRequest($"num_ctx must be at least 1, got {numCtx}", "num_ctx");

        var sampling = Validated(new SamplingParams
        {
            Temperature = JsonFields.Float(options, "temperature") ?? defaults.Temperature ?? 0.8f,
            TopP = JsonFields.Float(options, "top_p") ?? defaults.TopP ?? 1.0f,
            TopK = JsonFields.Int(options, "top_k") ?? defaults.TopK ?? 0,
            MinP = JsonFields.Float(options, "min_p") ?? defaults.MinP ?? 0f,
            RepetitionPenalty = JsonFields.Float(options, "repeat_penalty") ?? defaults.RepetitionPenalty ?? 1.0f,
            PresencePenalty = JsonFields.Float(options, "presence_penalty") ?? 0f,
            FrequencyPenalty = JsonFields.Float(options, "frequency_penalty") ?? 0f,
            Seed = JsonFields.Long(options, "seed") is { } seed ? unchecked((ulong)seed) : null,
        });
        return new GenerationSettings
        {
            Sampling = sampling,
            MaxTokens = numPredict > 0 ? numPredict : null,
            Stop = NonEmpty(JsonFields.StringOrList(options, "stop"), "stop"),
            ContextTokens = numCtx,
        };
    }

    private static SamplingParams Validated(SamplingParams sampling)
    {
        try
        {
            sampling.Validate();
            return sampling;
        }
        catch (HearthException ex)
        {
            // SamplingParams names the parameter first ("top_p must be in (0, 1], got 2").
            var param = ex.Message.Split(' ', 2)[0];
            throw ApiException.BadRequest(ex.Message, param);
        }
    }

    private static List<string> NonEmpty(List<string>? stop, string name)
    {
        if (stop is null) return [];
        if (stop.Exists(string.IsNullOrEmpty)) throw ApiException.BadRequest("stop strings must not be empty", name);
        return stop;
    }
}
