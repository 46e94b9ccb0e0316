using System.Text.Json.Nodes;
using Hearth.Testing;
using Hearth.Tokenization.Templates;

namespace Hearth.Tokenization.Tests.Templates;

/// <summary>Qwen3's real chat template must render byte for byte like transformers' apply_chat_template.</summary>
public class ChatTemplateGoldenTests
{
    private static readonly Lazy<ChatTemplate> Qwen3 = new(() =>
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Parrot, "tokenizer_config.json")))!;
        return new ChatTemplate((string)config["chat_template"]!, null, (string?)config["eos_token"]);
    });

    private static JsonArray Goldens() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Goldens, "chat-template-qwen3.json")))!.AsArray();

    private static JsonArray Cases() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Parrot, "cases.json")))!.AsArray();

    public static TheoryData<string> GoldenIds()
    {
        var data = new TheoryData<string>();
        foreach (var g in Goldens()) data.Add((string)g!["id"]!);
        return data;
    }

    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases()) data.Add((string)c!["id"]!);
        return data;
    }

    private static Dictionary<string, JsonNode?> Kwargs(JsonNode? enableThinking)
    {
        var kwargs = new Dictionary<string, JsonNode?>();
        if (enableThinking is not null) kwargs["enable_thinking"] = enableThinking.DeepClone();
        return kwargs;
    }

    [Theory]
    [MemberData(nameof(GoldenIds))]
    public void Qwen3_template_matches_transformers_golden(string id)
    {
        var golden = Goldens().Single(g => (string)g!["id"]! == id)!;
        string text = Qwen3.Value.Render(
            golden["messages"]!.DeepClone().AsArray(),
            golden["tools"]?.DeepClone().AsArray(),
            (bool)golden["add_generation_prompt"]!,
            Kwargs(golden["enable_thinking"]));
        Assert.Equal((string)golden["text"]!, text);
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Qwen3_template_renders_parrot_case_prompts(string id)
    {
        var item = Cases().Single(c => (string)c!["id"]! == id)!;
        var request = item["request"]!;
        string text = Qwen3.Value.Render(
            request["messages"]!.DeepClone().AsArray(),
            request["tools"]?.DeepClone().AsArray(),
            addGenerationPrompt: true,
            Kwargs(request["enable_thinking"]));
        Assert.Equal((string)item["prompt_text"]!, text);
    }

    [Fact]
    public void Bos_and_eos_tokens_are_template_variables_and_absent_ones_are_undefined()
    {
        var template = new ChatTemplate("{{ bos_token }}|{{ eos_token }}|{{ pad_token is defined }}", "<s>", "</s>");
        Assert.Equal("<s>|</s>|False", template.Render(new JsonArray(), null, false));
        var noBos = new ChatTemplate("{{ bos_token is defined }}");
        Assert.Equal("False", noBos.Render(new JsonArray(), null, false));
    }

    [Fact]
    public void Tools_default_to_none_and_kwargs_become_variables()
    {
        var template = new ChatTemplate("{{ tools is none }} {{ tools is defined }} {{ documents is none }} {{ enable_thinking is defined }} {{ flag }}");
        var kwargs = new Dictionary<string, JsonNode?> { ["flag"] = JsonValue.Create(3) };
        Assert.Equal("True True True False 3", template.Render(new JsonArray(), null, true, kwargs));
    }

    [Fact]
    public void Raise_exception_surfaces_as_template_exception_with_position()
    {
        var template = new ChatTemplate("{% if messages|length == 0 %}\n  {{ raise_exception('no messages') }}\n{% endif %}");
        var error = Assert.Throws<TemplateException>(() => template.Render(new JsonArray(), null, true));
        Assert.Equal("no messages", error.Reason);
        Assert.Equal(2, error.Line);
        Assert.Contains("no messages", error.Message);
    }
}
