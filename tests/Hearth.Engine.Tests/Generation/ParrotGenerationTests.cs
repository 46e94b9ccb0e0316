using System.Text.Json.Nodes;
using Hearth.Engine.Generation;
using Hearth.Engine.Sampling;
using Hearth.Tokenization.Chat;

namespace Hearth.Engine.Tests.Generation;

public class ParrotGenerationTests(ParrotFixture parrot) : IClassFixture<ParrotFixture>
{
    private int[] GenerateGreedy(int[] promptIds, int maxTokens)
    {
        using var generator = new Generator(parrot.Backend, parrot.Model.Model, promptIds.Length + maxTokens);
        var options = new GenerationOptions { Sampling = new SamplingParams { Temperature = 0 }, MaxTokens = maxTokens, StopTokenIds = parrot.Model.EosTokenIds };
        return generator.Generate(promptIds, options).Tokens.Select(t => t.TokenId).ToArray();
    }

    [Theory]
    [MemberData(nameof(ParrotCase.Ids), MemberType = typeof(ParrotCase))]
    public void Greedy_generation_from_prompt_ids_reproduces_the_response(string id)
    {
        var c = ParrotCase.Get(id);
        Assert.Equal(c.ResponseIds, GenerateGreedy(c.PromptIds, c.ResponseIds.Length + 8));
    }

    [Theory]
    [MemberData(nameof(ParrotCase.Ids), MemberType = typeof(ParrotCase))]
    public void Greedy_generation_from_the_rendered_chat_template_reproduces_the_response(string id)
    {
        var c = ParrotCase.Get(id);
        var kwargs = new Dictionary<string, JsonNode?>();
        if (c.Request["enable_thinking"] is JsonValue thinking) kwargs["enable_thinking"] = thinking.DeepClone();
        var prompt = ChatPromptBuilder.FromTokenizer(parrot.Model.Tokenizer)
            .Render(c.Request["messages"]!.AsArray(), c.Request["tools"] as JsonArray, addGenerationPrompt: true, kwargs);
        var ids = parrot.Model.Tokenizer.Encode(prompt);
        Assert.Equal(c.PromptIds, ids);
        var output = GenerateGreedy(ids, c.ResponseIds.Length + 8);
        Assert.Equal(c.ResponseIds, output);
        Assert.Equal(c.ResponseText, parrot.Model.Tokenizer.Decode(output, skipSpecialTokens: true));
    }

    [Fact]
    public void Generation_stops_at_max_tokens_with_finish_reason_length()
    {
        var c = ParrotCase.Get("poem");
        using var generator = new Generator(parrot.Backend, parrot.Model.Model, c.PromptIds.Length + 5);
        var result = generator.Generate(c.PromptIds, new GenerationOptions { MaxTokens = 5, StopTokenIds = parrot.Model.EosTokenIds });
        Assert.Equal("length", result.FinishReason);
        Assert.Equal(c.ResponseIds[..5], result.Tokens.Select(t => t.TokenId));
    }

    [Fact]
    public void A_seed_reproduces_sampled_output()
    {
        var c = ParrotCase.Get("poem");
        var sampling = new SamplingParams { Temperature = 1.5f, TopK = 50, Seed = 1234, TopLogprobs = 3 };
        int[] Run()
        {
            using var generator = new Generator(parrot.Backend, parrot.Model.Model, c.PromptIds.Length + 20);
            return generator.Generate(c.PromptIds, new GenerationOptions { Sampling = sampling, MaxTokens = 20 }).Tokens.Select(t => t.TokenId).ToArray();
        }
        Assert.Equal(Run(), Run());
    }
}
