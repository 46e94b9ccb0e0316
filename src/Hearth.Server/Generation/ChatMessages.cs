using System.Text;
using System.Text.Json.Nodes;
using Hearth.Server.Errors;
using Hearth.Server.Json;

namespace Hearth.Server.Generation;

/// <summary>
/// Validates chat messages and tools and rewrites them into what the chat template expects: text-part arrays
/// joined into one string, "developer" treated as "system", Ollama's "thinking" as "reasoning_content".
/// </summary>
internal static class ChatMessages
{
    public static JsonArray Normalize(JsonArray? messages, string param = "messages")
    {
        if (messages is null) throw ApiException.BadRequest($"'{param}' is required", param);
        if (messages.Count == 0) throw ApiException.BadRequest($"'{param}' must contain at least one message", param);
        var normalized = new JsonArray();
        for (var i = 0; i < messages.Count; i++)
            normalized.Add((JsonNode)NormalizeMessage(messages[i], $"{param}[{i}]"));
        return normalized;
    }

    private static JsonObject NormalizeMessage(JsonNode? node, string where)
    {
        if (node is not JsonObject message) throw ApiException.BadRequest($"{where} must be an object", where);
        var role = JsonFields.String(message, "role") ?? throw ApiException.BadRequest($"{where}.role is required", where + ".role");
        var copy = new JsonObject();
        switch (role)
        {
            case "system" or "developer" or "user":
                copy["role"] = role == "developer" ? "system" : role;
                copy["content"] = ContentText(message["content"], where, required: true);
                break;
            case "assistant":
                copy["role"] = "assistant";
                copy["content"] = ContentText(message["content"], where, required: false) ?? "";
                if ((JsonFields.String(message, "reasoning_content") ?? JsonFields.String(message, "thinking")) is { } reasoning)
                    copy["reasoning_content"] = reasoning;
                if (JsonFields.Array(message, "tool_calls") is { } calls) copy["tool_calls"] = ToolCalls(calls, where + ".tool_calls");
                break;
            case "tool":
                copy["role"] = "tool";
                copy["content"] = ContentText(message["content"], where, required: true);
                if (JsonFields.String(message, "tool_call_id") is { } callId) copy["tool_call_id"] = callId;
                if ((JsonFields.String(message, "tool_name") ?? JsonFields.String(message, "name")) is { } name) copy["name"] = name;
                break;
            default:
                throw ApiException.BadRequest($"{where}.role '{role}' is not one of system, developer, user, assistant, tool", where + ".role");
        }
        if (message["images"] is JsonArray { Count: > 0 }) throw ApiException.BadRequest("images are not supported by this model", where + ".images");
        return copy;
    }

    private static string? ContentText(JsonNode? content, string where, bool required)
    {
        switch (content)
        {
            case null when required:
                throw ApiException.BadRequest($"{where}.content is required", where + ".content");
            case null:
                return null;
            case JsonValue when JsonFields.IsString(content):
                return content.GetValue<string>();
            case JsonArray parts:
                var text = new StringBuilder();
                foreach (var part in parts)
                {
                    if (part is JsonObject p && JsonFields.String(p, "type") == "text" && JsonFields.String(p, "text") is { } t)
                    {
                        // Joined with newlines as vLLM does, since templates treat content as one string.
                        if (text.Length > 0) text.Append('\n');
                        text.Append(t);
                    }
                    else
                    {
                        throw ApiException.BadRequest($"{where}.content parts must be {{\"type\": \"text\", \"text\": ...}}; other part types are not supported", where + ".content");
                    }
                }
                return text.ToString();
            default:
                throw ApiException.BadRequest($"{where}.content must be a string or an array of text parts", where + ".content");
        }
    }

    private static JsonArray ToolCalls(JsonArray calls, string where)
    {
        var copy = new JsonArray();
        for (var i = 0; i < calls.Count; i++)
        {
            if (calls[i] is not JsonObject call || JsonFields.Object(call, "function") is not { } function || JsonFields.String(function, "name") is not { } name)
                throw ApiException.BadRequest($"{where}[{i}] must have function.name", $"{where}[{i}]");
            var arguments = function["arguments"];
            // OpenAI sends arguments as a JSON string, Ollama as an object; Qwen's template renders either verbatim.
            if (arguments is not null && arguments is not JsonObject && !JsonFields.IsString(arguments))
                throw ApiException.BadRequest($"{where}[{i}].function.arguments must be a JSON string or an object", $"{where}[{i}]");
            var item = new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments?.DeepClone() ?? new JsonObject() },
            };
            if (JsonFields.String(call, "id") is { } id) item["id"] = id;
            copy.Add((JsonNode)item);
        }
        return copy;
    }

    /// <summary>Tools as declared (OpenAI format, which Ollama shares), with the function names they declare.</summary>
    public static (JsonArray Tools, HashSet<string> Names) Tools(JsonArray tools)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var copy = new JsonArray();
        for (var i = 0; i < tools.Count; i++)
        {
            var where = $"tools[{i}]";
            if (tools[i] is not JsonObject tool) throw ApiException.BadRequest($"{where} must be an object", where);
            var type = JsonFields.String(tool, "type") ?? "function";
            if (type != "function") throw ApiException.BadRequest($"{where}.type '{type}' is not supported; only function tools are", where);
            var function = JsonFields.Object(tool, "function") ?? throw ApiException.BadRequest($"{where}.function is required", where);
            var name = JsonFields.String(function, "name");
            if (string.IsNullOrEmpty(name)) throw ApiException.BadRequest($"{where}.function.name is required", where);
            names.Add(name);
            copy.Add(tool.DeepClone());
        }
        return (copy, names);
    }

    /// <summary>Adds an instruction to the system message, creating one at the front when there is none.</summary>
    public static void AddSystemInstruction(JsonArray messages, string instruction)
    {
        if (messages.Count > 0 && messages[0] is JsonObject first && (string?)first["role"] == "system")
        {
            var existing = (string?)first["content"] ?? "";
            first["content"] = existing.Length == 0 ? instruction : existing + "\n\n" + instruction;
            return;
        }
        messages.Insert(0, new JsonObject { ["role"] = "system", ["content"] = instruction });
    }
}
