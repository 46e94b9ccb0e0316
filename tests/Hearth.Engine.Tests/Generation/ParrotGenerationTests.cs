using System.Text.Json.Nodes;
using Hearth.Engine.Sampling;
using Hearth.Tokenization.Chat;

namespace Hearth.Engine.Tests.Generation;

public class ParrotGenerationTests(ParrotFixture parrot) : IClassFixture<ParrotFixture>
{
    private EngineRun.Result Greedy(int[] promptIds, int maxTokens, string id = "r") =>
        EngineRun.RunOne(parrot.Model, parrot.Backend, new EngineRequest
        {
            RequestId = id,
            PromptTokenIds = promptIds,
            Sampling = new SamplingParams { Temperature = 0 },
            MaxTokens = maxTokens,
        });

    [Theory]
    [MemberData(nameof(ParrotCase.Ids), MemberType = typeof(ParrotCase))]
    public void Greedy_generation_from_prompt_ids_reproduces_the_response(string id)
    {
        var c = ParrotCase.Get(id);
        var result = Greedy(c.PromptIds, c.ResponseIds.Length + 8);
        Assert.Equal(c.ResponseIds, result.Tokens);
        Assert.Equal("stop", result.FinishReason);
        Assert.Equal(c.ResponseText, result.Text);
    }

    [Theory]
    [MemberData(nameof(ParrotCase.Ids), MemberType = typeof(ParrotCase))]
    public void Greedy_generation_from_the_rendered_chat_template_reproduces_the_response(string id)
    {
        var c = ParrotCase.Get(id);
        var kwargs = new Dictionary<string, JsonNode?>();
        if (c.Request["enable_thinking"] is JsonValue thinking) kwargs["enable_thinking"] = thinking.DeepClone();
        var prompt = ChatPromptBuilder.FromTokenizer(parrot.Model.RequireTokenizer())
            .Render(c.Request["messages"]!.AsArray(), c.Request["tools"] as JsonArray, addGenerationPrompt: true, kwargs);
        var ids = parrot.Model.RequireTokenizer().Encode(prompt);
        Assert.Equal(c.PromptIds, ids);
        Assert.Equal(c.ResponseIds, Greedy(ids, c.ResponseIds.Length + 8).Tokens);
    }

    [Fact]
    public void Generation_stops_at_max_tokens_with_finish_reason_length()
    {
        var c = ParrotCase.Get("poem");
        var result = Greedy(c.PromptIds, 5);
        Assert.Equal("length", result.FinishReason);
        Assert.Equal(c.ResponseIds[..5], result.Tokens);
    }

    [Fact]
    public void A_seed_reproduces_sampled_output_and_logprobs_are_reported()
    {
        var c = ParrotCase.Get("poem");
        var request = new EngineRequest
        {
            RequestId = "s",
            PromptTokenIds = c.PromptIds,
            Sampling = new SamplingParams { Temperature = 1.5f, TopK = 50, Seed = 1234, TopLogprobs = 3 },
            MaxTokens = 20,
            Logprobs = true,
        };
        var first = EngineRun.RunOne(parrot.Model, parrot.Backend, request);
        var second = EngineRun.RunOne(parrot.Model, parrot.Backend, request);
        Assert.Equal(first.Tokens, second.Tokens);
        var logprobs = first.Outputs.SelectMany(o => o.Logprobs!).ToList();
        Assert.Equal(first.Tokens.Count, logprobs.Count);
        Assert.All(logprobs, lp =>
        {
            Assert.Equal(3, lp.Top.Count);
            Assert.True(lp.Logprob <= 0);
            Assert.True(lp.Top[0].Logprob >= lp.Top[1].Logprob);
        });
    }

    [Fact]
    public void A_stop_string_ends_generation_and_is_never_emitted()
    {
        var c = ParrotCase.Get("poem");
        var result = EngineRun.RunOne(parrot.Model, parrot.Backend, new EngineRequest
        {
            RequestId = "stop",
            PromptTokenIds = c.PromptIds,
            Sampling = new SamplingParams { Temperature = 0 },
            MaxTokens = 100,
            StopStrings = ["silent rows"],
        });
        Assert.Equal("stop", result.FinishReason);
        Assert.Equal("Ten thousand cores in ", result.Text);
        Assert.Equal("silent rows", result.Outputs.Last().StopReason);
    }
}
