using System.Text.Json.Nodes;
using Hearth.Core;

namespace Hearth.Tokenization.Templates;

/// <summary>
/// A model's chat template rendered the way transformers' apply_chat_template does: messages, tools (None when
/// absent), documents=None, add_generation_prompt, the special tokens, and any extra kwargs as variables.
/// </summary>
public sealed class ChatTemplate
{
    private static readonly string[] Reserved = { "messages", "tools", "documents", "add_generation_prompt" };

    private readonly JinjaTemplate _template;
    private readonly string? _bosToken;
    private readonly string? _eosToken;

    public ChatTemplate(string source, string? bosToken = null, string? eosToken = null)
    {
        _template = JinjaTemplate.Parse(source);
        _bosToken = bosToken;
        _eosToken = eosToken;
    }

    /// <param name="messages">JSON array of message objects (role, content, tool_calls, ...).</param>
    /// <param name="tools">OpenAI-format tool list, or null (the template then sees tools = None).</param>
    /// <param name="addGenerationPrompt">Whether to open an assistant turn at the end.</param>
    /// <param name="kwargs">Extra variables such as enable_thinking; a key that is absent stays undefined.</param>
    public string Render(JsonArray messages, JsonArray? tools, bool addGenerationPrompt, IReadOnlyDictionary<string, JsonNode?>? kwargs = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (_bosToken is not null) values["bos_token"] = _bosToken;
        if (_eosToken is not null) values["eos_token"] = _eosToken;
        if (kwargs is not null)
        {
            foreach (var kv in kwargs)
            {
                if (Array.IndexOf(Reserved, kv.Key) >= 0)
                    throw new HearthException($"chat template argument '{kv.Key}' cannot be passed as an extra variable");
                values[kv.Key] = JinjaTemplate.Convert(kv.Value);
            }
        }
        values["messages"] = JinjaTemplate.Convert(messages);
        values["tools"] = tools is null ? null : JinjaTemplate.Convert(tools);
        values["documents"] = null;
        values["add_generation_prompt"] = addGenerationPrompt;
        return _template.RenderValues(values, () => DateTime.Now);
    }
}
