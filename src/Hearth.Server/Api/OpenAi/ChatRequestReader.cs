using System.Text.Json.Nodes;
using Hearth.Server.Errors;
using Hearth.Server.Generation;
using Hearth.Server.Hosting;
using Hearth.Server.Json;

namespace Hearth.Server.Api.OpenAi;

/// <summary>
/// Reads an OpenAI chat request. tool_choice "required" or a named function is passed to the model through
/// the prompt only (the named function alone is offered), so the model is guided, not forced. response_format
/// json_object/json_schema adds a system instruction and holds decoding to one JSON object (a schema's
/// structure is asked for in the instruction but not enforced).
/// </summary>
internal static class ChatRequestReader
{
    public const string JsonObjectInstruction = "Respond only with a single valid JSON object, with no other text.";

    public static ChatCompletionRequest Read(JsonObject body, HearthServerContext context)
    {
        var model = RequestBody.CheckModel(body, context);
        var messages = ChatMessages.Normalize(JsonFields.Array(body, "messages"));
        var settings = SamplingReader.FromOpenAi(body, context.Defaults, context.Text.VocabSize, isChat: true);

        var (templateTools, parseToolCalls) = ReadTools(body);
        var jsonOutput = ApplyResponseFormat(body, messages);

        var kwargs = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        if (JsonFields.Object(body, "chat_template_kwargs") is { } given)
            foreach (var (key, value) in given) kwargs[key] = value?.DeepClone();

        var streamOptions = JsonFields.Object(body, "stream_options");
        var stream = JsonFields.Bool(body, "stream") ?? false;
        if (streamOptions is not null && !stream) throw ApiException.BadRequest("stream_options is only allowed when stream is true", "stream_options");
        return new ChatCompletionRequest(
            model, messages, templateTools, parseToolCalls,
            ParallelToolCalls: JsonFields.Bool(body, "parallel_tool_calls") ?? true,
            kwargs,
            AddGenerationPrompt: JsonFields.Bool(body, "add_generation_prompt") ?? true,
            settings, stream,
            IncludeUsage: streamOptions is not null && (JsonFields.Bool(streamOptions, "include_usage") ?? false))
        {
            JsonOutput = jsonOutput,
        };
    }

    private static (JsonArray? TemplateTools, bool ParseToolCalls) ReadTools(JsonObject body)
    {
        var toolsNode = JsonFields.Array(body, "tools");
        var choice = body["tool_choice"];
        if (toolsNode is null || toolsNode.Count == 0)
        {
            if (choice is not null && !(JsonFields.IsString(choice) && choice.GetValue<string>() is "none" or "auto"))
                throw ApiException.BadRequest("tool_choice names a tool but no tools were given", "tool_choice");
            return (null, false);
        }
        var (tools, names) = ChatMessages.Tools(toolsNode);
        switch (choice)
        {
            case null:
                return (tools, true);
            case JsonValue when JsonFields.IsString(choice):
                return choice.GetValue<string>() switch
                {
                    "none" => (null, false),
                    "auto" or "required" => (tools, true),
                    var other => throw ApiException.BadRequest($"tool_choice '{other}' is not one of none, auto, required or a function", "tool_choice"),
                };
            case JsonObject named:
                var function = JsonFields.Object(named, "function");
                var name = function is null ? null : JsonFields.String(function, "name");
                if (name is null) throw ApiException.BadRequest("tool_choice must be {\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice");
                if (!names.Contains(name)) throw ApiException.BadRequest($"tool_choice names function '{name}', which is not among the declared tools", "tool_choice");
                var only = new JsonArray();
                foreach (var tool in tools)
                    if ((string?)tool!["function"]!["name"] == name) only.Add(tool.DeepClone());
                return (only, true);
            default:
                throw ApiException.BadRequest("tool_choice must be a string or an object", "tool_choice");
        }
    }

    /// <summary>Adds the instruction for a JSON response format; true when decoding must be held to JSON.</summary>
    private static bool ApplyResponseFormat(JsonObject body, JsonArray messages)
    {
        if (JsonFields.Object(body, "response_format") is not { } format) return false;
        var type = JsonFields.String(format, "type") ?? "text";
        switch (type)
        {
            case "text":
                return false;
            case "json_object":
                ChatMessages.AddSystemInstruction(messages, JsonObjectInstruction);
                return true;
            case "json_schema":
                var schema = JsonFields.Object(format, "json_schema")?["schema"];
                var instruction = schema is null ? JsonObjectInstruction : JsonObjectInstruction + " It must conform to this JSON schema: " + schema.ToJsonString();
                ChatMessages.AddSystemInstruction(messages, instruction);
                return true;
            default:
                throw ApiException.BadRequest($"response_format type '{type}' is not one of text, json_object, json_schema", "response_format");
        }
    }
}
