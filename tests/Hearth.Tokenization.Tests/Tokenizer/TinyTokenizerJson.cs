using System.Text.Json.Nodes;
using Hearth.Tokenization.Bpe;

namespace Hearth.Tokenization.Tests.Tokenizing;

/// <summary>
/// Builds small tokenizer.json documents: the 256 byte tokens (id = byte value), then "ab" (256), "abc" (257),
/// "Ġa" (258) and "xyz" (259, in the vocabulary but reachable by no merge).
/// </summary>
internal static class TinyTokenizerJson
{
    public const int Ab = 256, Abc = 257, SpaceA = 258, Xyz = 259;

    public static string Build(bool arrayMerges = false, bool ignoreMerges = false, string? pattern = null,
        JsonArray? addedTokens = null, string normalizer = "NFC", string modelType = "BPE")
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.ByteToChar((byte)b).ToString()] = b;
        vocab["ab"] = Ab;
        vocab["abc"] = Abc;
        vocab["Ġa"] = SpaceA;
        vocab["xyz"] = Xyz;
        // Listed so that rank, not position, decides: "a b" outranks "Ġ a".
        string[][] merges = [["a", "b"], ["ab", "c"], ["Ġ", "a"]];
        var mergeArray = new JsonArray();
        foreach (var m in merges) mergeArray.Add(arrayMerges ? new JsonArray(m[0], m[1]) : (JsonNode)(m[0] + " " + m[1]));

        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = addedTokens ?? new JsonArray(),
            ["normalizer"] = new JsonObject { ["type"] = normalizer },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject { ["Regex"] = pattern ?? SplitPattern.Qwen2 },
                        ["behavior"] = "Isolated",
                        ["invert"] = false,
                    },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject
            {
                ["type"] = modelType,
                ["ignore_merges"] = ignoreMerges,
                ["vocab"] = vocab,
                ["merges"] = mergeArray,
            },
        };
        return root.ToJsonString();
    }

    public static JsonObject AddedToken(int id, string content, bool special = true, bool lstrip = false,
        bool rstrip = false, bool singleWord = false, bool normalized = false) => new()
    {
        ["id"] = id,
        ["content"] = content,
        ["single_word"] = singleWord,
        ["lstrip"] = lstrip,
        ["rstrip"] = rstrip,
        ["normalized"] = normalized,
        ["special"] = special,
    };
}
