using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Hearth.Engine;
using Hearth.Server.Api.OpenAi;
using Hearth.Server.Errors;
using Hearth.Server.Generation;
using Hearth.Server.Hosting;
using Hearth.Server.Json;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.Api.Ollama;

/// <summary>What /api/chat and /api/generate share: think, format, context limits, timing and the final counts.</summary>
internal static class OllamaCommon
{
    public static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>think true/false sets the template's enable_thinking; Ollama's effort levels ("low"...) mean true.</summary>
    public static Dictionary<string, JsonNode?> TemplateKwargs(JsonObject body)
    {
        var kwargs = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var think = body["think"];
        if (think is null) return kwargs;
        if (JsonFields.IsString(think)) kwargs["enable_thinking"] = true;
        else kwargs["enable_thinking"] = JsonFields.Bool(body, "think");
        return kwargs;
    }

    /// <summary>format "json" or a JSON schema: an instruction for the system prompt; decoding is then held to one JSON object.</summary>
    public static string? FormatInstruction(JsonObject body)
    {
        var format = body["format"];
        if (format is null) return null;
        if (JsonFields.IsString(format))
        {
            var value = format.GetValue<string>();
            if (value.Length == 0) return null;
            if (value == "json") return ChatRequestReader.JsonObjectInstruction;
            throw ApiException.BadRequest($"format '{value}' is not \"json\" or a JSON schema", "format");
        }
        if (format is JsonObject schema)
            return ChatRequestReader.JsonObjectInstruction + " It must conform to this JSON schema: " + schema.ToJsonString();
        throw ApiException.BadRequest("format must be \"json\" or a JSON schema object", "format");
    }

    /// <summary>Checks the prompt against num_ctx (or the engine's context) and caps num_predict to what is left.</summary>
    public static GenerationSettings Fit(GenerationSettings settings, int promptTokens, int engineContextTokens)
    {
        var context = Math.Min(settings.ContextTokens ?? engineContextTokens, engineContextTokens);
        PromptGuard.Check(promptTokens, null, context);
        var room = context - promptTokens;
        return settings with { MaxTokens = Math.Min(settings.MaxTokens ?? room, room) };
    }

    public static AdmissionGate.Lease Enter(HearthServerContext context) => context.Gate.TryEnter()
        ?? throw new ApiException(StatusCodes.Status429TooManyRequests, "the server is at its limit of requests in flight; retry later");

    public static string DoneReason(string finishReason) => finishReason == "tool_calls" ? "stop" : finishReason;

    public static JsonNode? ParseArguments(string argumentsJson)
    {
        try
        {
            return JsonNode.Parse(argumentsJson);
        }
        catch (System.Text.Json.JsonException)
        {
            return JsonValue.Create(argumentsJson);
        }
    }

    /// <summary>Per-phase timings in nanoseconds, as Ollama reports them.</summary>
    public sealed class Timings
    {
        private readonly long _startTicks = Stopwatch.GetTimestamp();
        private long _firstOutputTicks;

        public void MarkOutput()
        {
            if (_firstOutputTicks == 0) _firstOutputTicks = Stopwatch.GetTimestamp();
        }

        public (long Total, long PromptEval, long Eval) Nanoseconds()
        {
            var end = Stopwatch.GetTimestamp();
            var first = _firstOutputTicks == 0 ? end : _firstOutputTicks;
            return (ToNs(end - _startTicks), ToNs(first - _startTicks), ToNs(end - first));
        }

        private static long ToNs(long ticks) => (long)(ticks * (1e9 / Stopwatch.Frequency));
    }

    public static OllamaChatDto WithStats(OllamaChatDto dto, string finishReason, EngineUsage usage, Timings timings)
    {
        var (total, promptEval, eval) = timings.Nanoseconds();
        return dto with
        {
            DoneReason = DoneReason(finishReason),
            TotalDuration = total,
            LoadDuration = 0,
            PromptEvalCount = usage.PromptTokens,
            PromptEvalDuration = promptEval,
            EvalCount = usage.CompletionTokens,
            EvalDuration = eval,
        };
    }

    public static OllamaGenerateDto WithStats(OllamaGenerateDto dto, string finishReason, EngineUsage usage, Timings timings)
    {
        var (total, promptEval, eval) = timings.Nanoseconds();
        return dto with
        {
            DoneReason = DoneReason(finishReason),
            TotalDuration = total,
            LoadDuration = 0,
            PromptEvalCount = usage.PromptTokens,
            PromptEvalDuration = promptEval,
            EvalCount = usage.CompletionTokens,
            EvalDuration = eval,
        };
    }
}
