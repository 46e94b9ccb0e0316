using System.Text.Json;
using Hearth.Core;

namespace Hearth.Tokenization.Bpe;

/// <summary>
/// Reads a Hugging Face tokenizer.json of the byte-level BPE kind (Qwen2/Qwen3, Llama 3). Anything it does not
/// implement exactly is refused with a HearthException rather than tokenized differently from HF.
/// </summary>
internal static class TokenizerJsonReader
{
    public static TokenizerDefinition Read(string json)
    {
        using var doc = ParseDocument(json, "tokenizer.json");
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw Invalid("the root is not an object");

        var model = Property(root, "model") ?? throw Invalid("it has no \"model\"");
        string modelType = StringOrNull(model, "type") ?? "BPE";
        if (modelType != "BPE") throw new HearthException($"Unsupported tokenizer model type \"{modelType}\"; only byte-level BPE is supported.");
        CheckUnsupportedModelOptions(model);

        var vocabElement = Property(model, "vocab") ?? throw Invalid("the model has no \"vocab\"");
        var vocab = new Dictionary<string, int>(vocabElement.EnumerateObject().Count(), StringComparer.Ordinal);
        foreach (var entry in vocabElement.EnumerateObject())
        {
            if (!entry.Value.TryGetInt32(out int id) || id < 0) throw Invalid($"vocab entry \"{entry.Name}\" has no valid id");
            vocab[entry.Name] = id;
        }

        bool ignoreMerges = Property(model, "ignore_merges") is { ValueKind: JsonValueKind.True };
        return new TokenizerDefinition
        {
            Vocab = vocab,
            Merges = ReadMerges(model, vocab),
            IgnoreMerges = ignoreMerges,
            Nfc = ReadNormalizer(Property(root, "normalizer")),
            Pattern = ReadPreTokenizer(Property(root, "pre_tokenizer")),
            AddedTokens = ReadAddedTokens(Property(root, "added_tokens")),
        };
    }

    internal static JsonDocument ParseDocument(string json, string fileName)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new HearthException($"{fileName} is not valid JSON: {e.Message}", e);
        }
    }

    private static MergeTable ReadMerges(JsonElement model, Dictionary<string, int> vocab)
    {
        var merges = Property(model, "merges");
        if (merges is not { ValueKind: JsonValueKind.Array } list) return new MergeTable(0);
        var table = new MergeTable(list.GetArrayLength());
        var lookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        int rank = 0;
        foreach (var merge in list.EnumerateArray())
        {
            string left, right;
            if (merge.ValueKind == JsonValueKind.String)
            {
                string text = merge.GetString()!;
                int space = text.IndexOf(' ');
                if (space < 0 || text.IndexOf(' ', space + 1) >= 0) throw Invalid($"merge \"{text}\" is not two tokens");
                left = text[..space];
                right = text[(space + 1)..];
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2)
            {
                left = merge[0].GetString() ?? "";
                right = merge[1].GetString() ?? "";
            }
            else throw Invalid($"merge #{rank} is neither \"a b\" nor [\"a\", \"b\"]");

            if (!vocab.TryGetValue(left, out int leftId) || !vocab.TryGetValue(right, out int rightId))
                throw Invalid($"merge #{rank} uses a token missing from the vocab");
            string joined = string.Concat(left, right);
            if (!lookup.TryGetValue(joined, out int mergedId))
                throw Invalid($"merge #{rank} produces \"{joined}\", which is missing from the vocab");
            table.Set(leftId, rightId, rank, mergedId);
            rank++;
        }
        return table;
    }

    private static bool ReadNormalizer(JsonElement? normalizer)
    {
        if (normalizer is not { ValueKind: JsonValueKind.Object } n) return false;
        string type = StringOrNull(n, "type") ?? "";
        if (type == "NFC") return true;
        if (type == "Sequence" && Property(n, "normalizers") is { ValueKind: JsonValueKind.Array } parts)
        {
            bool nfc = false;
            foreach (var part in parts.EnumerateArray()) nfc |= ReadNormalizer(part);
            return nfc;
        }
        throw new HearthException($"Unsupported normalizer \"{type}\" in tokenizer.json; only NFC is supported.");
    }

    private static SplitPattern ReadPreTokenizer(JsonElement? preTokenizer)
    {
        if (preTokenizer is not { ValueKind: JsonValueKind.Object } p)
            throw new HearthException("tokenizer.json has no pre_tokenizer; only the byte-level BPE kind is supported.");
        var steps = new List<JsonElement>();
        if (StringOrNull(p, "type") == "Sequence" && Property(p, "pretokenizers") is { ValueKind: JsonValueKind.Array } seq)
            steps.AddRange(seq.EnumerateArray());
        else steps.Add(p);

        if (steps.Count != 2 || StringOrNull(steps[0], "type") != "Split" || StringOrNull(steps[1], "type") != "ByteLevel")
            throw new HearthException("Unsupported pre_tokenizer in tokenizer.json; expected Split followed by ByteLevel (Qwen2/Llama 3 style).");

        var split = steps[0];
        string behavior = StringOrNull(split, "behavior") ?? "";
        bool invert = Property(split, "invert") is { ValueKind: JsonValueKind.True };
        string? regex = Property(split, "pattern") is { ValueKind: JsonValueKind.Object } pattern ? StringOrNull(pattern, "Regex") : null;
        if (regex is null || behavior != "Isolated" || invert)
            throw new HearthException("Unsupported Split pre-tokenizer in tokenizer.json; expected an Isolated, non-inverted regex.");

        var byteLevel = steps[1];
        if (Property(byteLevel, "add_prefix_space") is { ValueKind: JsonValueKind.True }
            || Property(byteLevel, "use_regex") is { ValueKind: JsonValueKind.True })
            throw new HearthException("Unsupported ByteLevel pre-tokenizer options in tokenizer.json (add_prefix_space or use_regex).");
        return SplitPattern.FromRegex(regex);
    }

    private static List<AddedTokenSpec> ReadAddedTokens(JsonElement? addedTokens)
    {
        var result = new List<AddedTokenSpec>();
        if (addedTokens is not { ValueKind: JsonValueKind.Array } list) return result;
        foreach (var t in list.EnumerateArray())
        {
            if (Property(t, "id") is not { } idElement || !idElement.TryGetInt32(out int id))
                throw Invalid("an added token has no id");
            result.Add(ReadAddedToken(id, t));
        }
        return result;
    }

    internal static AddedTokenSpec ReadAddedToken(int id, JsonElement t)
    {
        string content = StringOrNull(t, "content") ?? throw Invalid($"added token {id} has no content");
        bool special = Flag(t, "special", false);
        return new AddedTokenSpec(id, content, special, Flag(t, "single_word", false), Flag(t, "lstrip", false),
            Flag(t, "rstrip", false), Flag(t, "normalized", !special));
    }

    private static void CheckUnsupportedModelOptions(JsonElement model)
    {
        if (Property(model, "dropout") is { ValueKind: JsonValueKind.Number } d && d.GetDouble() > 0)
            throw new HearthException("BPE dropout in tokenizer.json is not supported.");
        if (!string.IsNullOrEmpty(StringOrNull(model, "continuing_subword_prefix"))
            || !string.IsNullOrEmpty(StringOrNull(model, "end_of_word_suffix")))
            throw new HearthException("BPE continuing_subword_prefix/end_of_word_suffix in tokenizer.json are not supported.");
        if (Property(model, "byte_fallback") is { ValueKind: JsonValueKind.True })
            throw new HearthException("BPE byte_fallback in tokenizer.json is not supported.");
    }

    private static bool Flag(JsonElement e, string name, bool fallback) => Property(e, name) switch
    {
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => fallback,
    };

    internal static JsonElement? Property(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    internal static string? StringOrNull(JsonElement e, string name) =>
        Property(e, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    private static HearthException Invalid(string what) => new($"tokenizer.json is not a valid tokenizer: {what}.");
}
