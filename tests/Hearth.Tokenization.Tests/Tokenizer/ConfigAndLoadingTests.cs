using System.Text.Json.Nodes;
using Hearth.Core;
using Hearth.Testing;

namespace Hearth.Tokenization.Tests.Tokenizing;

public class ConfigAndLoadingTests
{
    [Fact]
    public void Qwen3_config_is_read()
    {
        var config = QwenTokenizer.Instance.Config;
        Assert.Equal("<|im_end|>", config.EosToken);
        Assert.Equal("<|endoftext|>", config.PadToken);
        Assert.Null(config.BosToken);
        Assert.False(config.AddBosToken);
        Assert.StartsWith("{%- if tools %}", config.ChatTemplate);
    }

    [Fact]
    public void Named_templates_token_objects_and_added_tokens_decoder_are_understood()
    {
        var configJson = new JsonObject
        {
            ["chat_template"] = new JsonArray(
                new JsonObject { ["name"] = "tool_use", ["template"] = "TOOLS" },
                new JsonObject { ["name"] = "default", ["template"] = "DEFAULT" }),
            ["bos_token"] = new JsonObject { ["content"] = "<s>", ["special"] = true },
            ["eos_token"] = "</s>",
            ["add_bos_token"] = true,
            ["added_tokens_decoder"] = new JsonObject
            {
                ["300"] = new JsonObject { ["content"] = "<s>", ["special"] = true },
            },
        }.ToJsonString();

        var tok = Tokenizer.FromJson(TinyTokenizerJson.Build(), configJson);

        Assert.Equal("DEFAULT", tok.Config.ChatTemplate);
        Assert.Equal("<s>", tok.Config.BosToken);
        Assert.Equal("</s>", tok.Config.EosToken);
        Assert.True(tok.Config.AddBosToken);
        Assert.Equal(300, tok.TokenToId("<s>"));
        Assert.True(tok.IsSpecial(300));
        Assert.Equal([300, 'h', 'i'], tok.Encode("<s>hi"));
    }

    [Fact]
    public void Missing_directory_is_a_clear_error()
    {
        var e = Assert.Throws<HearthException>(() => Tokenizer.Load(Path.Combine(Path.GetTempPath(), "no-such-model-dir")));
        Assert.Contains("tokenizer.json", e.Message);
    }

    [Fact]
    public void Corrupt_files_are_clear_errors()
    {
        string dir = Directory.CreateTempSubdirectory("hearth-tok-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{ \"model\": { \"vocab\": ");
            var e = Assert.Throws<HearthException>(() => Tokenizer.Load(dir));
            Assert.Contains("tokenizer.json is not valid JSON", e.Message);

            File.WriteAllText(Path.Combine(dir, "tokenizer.json"), TinyTokenizerJson.Build());
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "[1, 2");
            e = Assert.Throws<HearthException>(() => Tokenizer.Load(dir));
            Assert.Contains("tokenizer_config.json", e.Message);

            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{}");
            File.WriteAllText(Path.Combine(dir, "chat_template.jinja"), "{{ messages }}");
            Assert.Equal("{{ messages }}", Tokenizer.Load(dir).Config.ChatTemplate);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Unsupported_features_are_refused_by_name()
    {
        var e = Assert.Throws<HearthException>(() => Tokenizer.FromJson(TinyTokenizerJson.Build(pattern: @"\w+|\s+")));
        Assert.Contains(@"\w+|\s+", e.Message);
        e = Assert.Throws<HearthException>(() => Tokenizer.FromJson(TinyTokenizerJson.Build(modelType: "Unigram")));
        Assert.Contains("Unigram", e.Message);
        e = Assert.Throws<HearthException>(() => Tokenizer.FromJson(TinyTokenizerJson.Build(normalizer: "NFKC")));
        Assert.Contains("NFKC", e.Message);
    }

    [Fact]
    public void A_merge_outside_the_vocabulary_is_a_clear_error()
    {
        var root = JsonNode.Parse(TinyTokenizerJson.Build())!;
        root["model"]!["merges"]!.AsArray().Add("x q");
        var e = Assert.Throws<HearthException>(() => Tokenizer.FromJson(root.ToJsonString()));
        Assert.Contains("merge #3", e.Message);
    }

    [Fact]
    public void Loading_the_real_tokenizer_twice_gives_the_same_encoding()
    {
        var fresh = Tokenizer.Load(RepoPaths.Parrot);
        const string text = "Fresh tokenizer, 新的分词器 ✓";
        Assert.Equal(QwenTokenizer.Instance.Encode(text), fresh.Encode(text));
    }
}
