using System.Text.Json;
using Hearth.Core;

namespace Hearth.Models.Gguf;

/// <summary>
/// Writes a Hugging Face folder's byte-level BPE tokenizer (tokenizer.json, tokenizer_config.json) as GGUF
/// tokenizer.ggml.* metadata the way llama.cpp's converter lays it out: one entry per id up to the model's
/// vocabulary size, gaps filled with unused "[PADn]" tokens, added tokens typed control (special) or user-defined.
/// </summary>
public static class GgufTokenizerExport
{
    public static void Write(GgufWriter writer, string modelDirectory, int vocabSize, int? bosTokenId, IReadOnlyList<int> eosTokenIds)
    {
        string tokenizerPath = Path.Combine(modelDirectory, "tokenizer.json");
        if (!File.Exists(tokenizerPath)) throw new HearthException($"no tokenizer.json in {modelDirectory} to embed in the GGUF file");
        using var doc = JsonDocument.Parse(File.ReadAllText(tokenizerPath));
        var model = doc.RootElement.GetProperty("model");
        if (model.TryGetProperty("type", out var type) && type.GetString() != "BPE")
            throw new HearthException($"tokenizer model '{type.GetString()}' in {tokenizerPath} cannot be written to GGUF; only byte-level BPE");

        var tokens = new string?[vocabSize];
        var types = new int[vocabSize];
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            int id = entry.Value.GetInt32();
            if ((uint)id >= (uint)vocabSize) throw new HearthException($"token id {id} in {tokenizerPath} is outside the vocabulary of {vocabSize}");
            tokens[id] = entry.Name;
            types[id] = 1;
        }
        if (doc.RootElement.TryGetProperty("added_tokens", out var addedTokens))
        {
            foreach (var t in addedTokens.EnumerateArray())
            {
                int id = t.GetProperty("id").GetInt32();
                if ((uint)id >= (uint)vocabSize) throw new HearthException($"added token id {id} in {tokenizerPath} is outside the vocabulary of {vocabSize}");
                tokens[id] = t.GetProperty("content").GetString();
                types[id] = t.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True ? 3 : 4;
            }
        }
        for (int id = 0; id < vocabSize; id++)
        {
            if (tokens[id] is not null) continue;
            tokens[id] = $"[PAD{id}]";
            types[id] = 5;
        }

        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var mergeList))
        {
            foreach (var m in mergeList.EnumerateArray())
                merges.Add(m.ValueKind == JsonValueKind.Array ? m[0].GetString() + " " + m[1].GetString() : m.GetString()!);
        }

        writer.Set("tokenizer.ggml.model", GgufValue.String("gpt2"));
        writer.Set("tokenizer.ggml.pre", GgufValue.String("qwen2"));
        writer.Set("tokenizer.ggml.tokens", GgufValue.StringArray(tokens!));
        writer.Set("tokenizer.ggml.token_type", GgufValue.Int32Array(types));
        writer.Set("tokenizer.ggml.merges", GgufValue.StringArray([.. merges]));
        if (eosTokenIds.Count > 0) writer.Set("tokenizer.ggml.eos_token_id", GgufValue.UInt32((uint)eosTokenIds[0]));
        // llama.cpp's end-of-turn id; Hearth also stops on it, so a second eos id survives the conversion.
        if (eosTokenIds.Count > 1) writer.Set("tokenizer.ggml.eot_token_id", GgufValue.UInt32((uint)eosTokenIds[1]));
        if (bosTokenId is { } bos) writer.Set("tokenizer.ggml.bos_token_id", GgufValue.UInt32((uint)bos));

        var (chatTemplate, padToken, addBos) = ReadTokenizerConfig(modelDirectory);
        if (padToken is not null && Array.IndexOf(tokens, padToken) is int pad and >= 0)
            writer.Set("tokenizer.ggml.padding_token_id", GgufValue.UInt32((uint)pad));
        writer.Set("tokenizer.ggml.add_bos_token", GgufValue.Bool(addBos));
        if (chatTemplate is not null) writer.Set("tokenizer.chat_template", GgufValue.String(chatTemplate));
    }

    private static (string? ChatTemplate, string? PadToken, bool AddBos) ReadTokenizerConfig(string modelDirectory)
    {
        string path = Path.Combine(modelDirectory, "tokenizer_config.json");
        string? template = null, pad = null;
        bool addBos = false;
        if (File.Exists(path))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { AllowTrailingCommas = true });
            var root = doc.RootElement;
            if (root.TryGetProperty("chat_template", out var t))
            {
                if (t.ValueKind == JsonValueKind.String) template = t.GetString();
                else if (t.ValueKind == JsonValueKind.Array)
                {
                    foreach (var named in t.EnumerateArray())
                    {
                        string? text = named.TryGetProperty("template", out var tt) ? tt.GetString() : null;
                        if (text is null) continue;
                        bool isDefault = named.TryGetProperty("name", out var n) && n.GetString() == "default";
                        if (isDefault || template is null) template = text;
                        if (isDefault) break;
                    }
                }
            }
            if (root.TryGetProperty("pad_token", out var p))
                pad = p.ValueKind == JsonValueKind.String ? p.GetString() : p.ValueKind == JsonValueKind.Object && p.TryGetProperty("content", out var c) ? c.GetString() : null;
            addBos = root.TryGetProperty("add_bos_token", out var b) && b.ValueKind == JsonValueKind.True;
        }
        string templatePath = Path.Combine(modelDirectory, "chat_template.jinja");
        if (template is null && File.Exists(templatePath)) template = File.ReadAllText(templatePath);
        return (template, pad, addBos);
    }
}
