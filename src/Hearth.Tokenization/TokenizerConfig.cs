using System.Text.Json;
using Hearth.Core;
using Hearth.Tokenization.Bpe;

namespace Hearth.Tokenization;

/// <summary>The parts of a Hugging Face tokenizer_config.json that inference needs.</summary>
public sealed class TokenizerConfig
{
    /// <summary>The Jinja chat template: the one named "default" (else the first) when several are listed; null if none.</summary>
    public string? ChatTemplate { get; init; }

    public string? EosToken { get; init; }

    public string? PadToken { get; init; }

    public string? BosToken { get; init; }

    public bool AddBosToken { get; init; }

    /// <summary>Entries of added_tokens_decoder; they extend the added tokens of tokenizer.json.</summary>
    internal IReadOnlyList<AddedTokenSpec> AddedTokens { get; init; } = [];

    internal TokenizerConfig WithChatTemplate(string chatTemplate) => new()
    {
        ChatTemplate = chatTemplate,
        EosToken = EosToken,
        PadToken = PadToken,
        BosToken = BosToken,
        AddBosToken = AddBosToken,
        AddedTokens = AddedTokens,
    };

    internal static TokenizerConfig Parse(string json)
    {
        using var doc = TokenizerJsonReader.ParseDocument(json, "tokenizer_config.json");
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new HearthException("tokenizer_config.json is not a valid tokenizer config: the root is not an object.");

        var added = new List<AddedTokenSpec>();
        if (TokenizerJsonReader.Property(root, "added_tokens_decoder") is { ValueKind: JsonValueKind.Object } decoder)
        {
            foreach (var entry in decoder.EnumerateObject())
            {
                if (!int.TryParse(entry.Name, out int id) || id < 0)
                    throw new HearthException($"tokenizer_config.json has an added token with a non-numeric id \"{entry.Name}\".");
                added.Add(TokenizerJsonReader.ReadAddedToken(id, entry.Value));
            }
        }

        return new TokenizerConfig
        {
            ChatTemplate = ReadChatTemplate(TokenizerJsonReader.Property(root, "chat_template")),
            EosToken = TokenContent(root, "eos_token"),
            PadToken = TokenContent(root, "pad_token"),
            BosToken = TokenContent(root, "bos_token"),
            AddBosToken = TokenizerJsonReader.Property(root, "add_bos_token") is { ValueKind: JsonValueKind.True },
            AddedTokens = added,
        };
    }

    private static string? ReadChatTemplate(JsonElement? value)
    {
        if (value is not { } v) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind != JsonValueKind.Array) return null;
        string? first = null;
        foreach (var named in v.EnumerateArray())
        {
            string? name = TokenizerJsonReader.StringOrNull(named, "name");
            string? template = TokenizerJsonReader.StringOrNull(named, "template");
            if (template is null) continue;
            if (name == "default") return template;
            first ??= template;
        }
        return first;
    }

    // A special token is written either as its content or as an AddedToken object with "content".
    private static string? TokenContent(JsonElement root, string name) => TokenizerJsonReader.Property(root, name) switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { ValueKind: JsonValueKind.Object } o => TokenizerJsonReader.StringOrNull(o, "content"),
        _ => null,
    };
}
