using System.Text.Json.Nodes;
using Hearth.Engine.Sampling;
using Hearth.Engine.Tests.Generation;
using Hearth.Models.Gguf;
using Hearth.Tokenization.Chat;

namespace Hearth.Engine.Tests.Gguf;

/// <summary>
/// The parrot fixture quantized by Hearth's converter and loaded from the single .gguf file (weights, config,
/// tokenizer and chat template all from it) must still answer all 12 conversations under greedy decoding.
/// </summary>
public sealed class GgufParrotTests(GgufParrotFixture parrot) : IClassFixture<GgufParrotFixture>
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string type in new[] { nameof(GgufFileType.Q8_0), nameof(GgufFileType.Q4_K_M) })
            foreach (object[] id in ParrotCase.Ids()) data.Add(type, (string)id[0]);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Greedy_generation_from_the_gguf_alone_reproduces_the_response(string fileType, string id)
    {
        var type = Enum.Parse<GgufFileType>(fileType);
        var model = parrot.Get(type);
        var c = ParrotCase.Get(id);
        var kwargs = new Dictionary<string, JsonNode?>();
        if (c.Request["enable_thinking"] is JsonValue thinking) kwargs["enable_thinking"] = thinking.DeepClone();
        var tokenizer = model.RequireTokenizer();
        var prompt = ChatPromptBuilder.FromTokenizer(tokenizer)
            .Render(c.Request["messages"]!.AsArray(), c.Request["tools"] as JsonArray, addGenerationPrompt: true, kwargs);
        Assert.Equal(c.PromptIds, tokenizer.Encode(prompt));
        var result = EngineRun.RunOne(model, parrot.Backend, new EngineRequest
        {
            RequestId = id,
            PromptTokenIds = c.PromptIds,
            Sampling = new SamplingParams { Temperature = 0 },
            MaxTokens = c.ResponseIds.Length + 8,
        });
        Assert.Equal(c.ResponseIds, result.Tokens);
        Assert.Equal("stop", result.FinishReason);
        Assert.Equal(c.ResponseText, result.Text);
    }
}
