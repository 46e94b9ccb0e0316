using System.Text.Json.Nodes;
using Hearth.Core;
using Hearth.Tokenization.Templates;

namespace Hearth.Tokenization.Chat;

/// <summary>
/// Renders an OpenAI-style chat request (messages, tools, template kwargs) into the model's prompt with
/// its chat template, as transformers' apply_chat_template does. Text-part arrays in message content are
/// joined into one string first, as vLLM does, because chat templates concatenate content as a string.
/// </summary>
public sealed class ChatPromptBuilder
{
    private readonly ChatTemplate _template;

    public ChatPromptBuilder(ChatTemplate template) => _template = template;

    public static ChatPromptBuilder FromTokenizer(Tokenizer tokenizer)
    {
        var source = tokenizer.Config.ChatTemplate
            ?? throw new HearthException("the model's tokenizer_config.json has no chat_template");
        return new ChatPromptBuilder(new ChatTemplate(source, tokenizer.Config.BosToken, tokenizer.Config.EosToken));
    }

    public string Render(JsonArray messages, JsonArray? tools, bool addGenerationPrompt,
        IReadOnlyDictionary<string, JsonNode?>? kwargs = null)
    {
        var normalized = new JsonArray();
        foreach (var message in messages)
            normalized.Add(NormalizeMessage(message));
        return _template.Render(normalized, tools is null ? null : (JsonArray)tools.DeepClone(), addGenerationPrompt, kwargs);
    }

    private static JsonNode NormalizeMessage(JsonNode? message)
    {
        if (message is not JsonObject obj) throw new HearthException("each message must be a JSON object");
        var copy = (JsonObject)obj.DeepClone();
        if (copy["content"] is JsonArray parts) copy["content"] = JoinTextParts(parts);
        return copy;
    }

    private static string JoinTextParts(JsonArray parts)
    {
        var texts = new List<string>(parts.Count);
        foreach (var part in parts)
        {
            switch (part)
            {
                case JsonValue v when v.TryGetValue<string>(out var s):
                    texts.Add(s);
                    break;
                case JsonObject o when (string?)o["type"] == "text" && o["text"] is JsonValue t && t.TryGetValue<string>(out var text):
                    texts.Add(text);
                    break;
                case JsonObject o:
                    throw new HearthException($"content part of type '{(string?)o["type"] ?? "(none)"}' is not supported; only text parts are");
                default:
                    throw new HearthException("content parts must be objects of type text");
            }
        }
        return string.Join("\n", texts);
    }
}
