using System.Text;
using System.Text.Json;
using Hearth.Engine.Constraints;
using Hearth.Engine.Sampling;
using Hearth.Engine.Tests.Generation;
using Hearth.Tokenization;
using Hearth.Tokenization.Constraints;

namespace Hearth.Engine.Tests.Constraints;

public sealed class JsonObjectConstraintTests(ParrotFixture parrot) : IClassFixture<ParrotFixture>
{
    private Tokenizer Tokenizer => parrot.Model.RequireTokenizer();

    private static readonly int[] Eos = [151645];

    /// <summary>
    /// Cross-checks the trie walk against brute force: after each prefix, a token is allowed exactly when the
    /// scanner accepts its bytes from that state (special tokens never are).
    /// </summary>
    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"a\": 1,\n")]
    [InlineData("{\"na")]
    [InlineData("{\"name\": ")]
    [InlineData("{\"a\": [1, 2")]
    [InlineData("{\"a\": {\"b\": [\"x\\")]
    [InlineData("{\"a\": -1.5e")]
    [InlineData("{\"a\": tr")]
    public void TheMaskAllowsExactlyTheTokensThatKeepTheJsonValid(string prefix)
    {
        var constraint = new JsonObjectConstraint(TokenTrie.For(Tokenizer));
        var scanner = new JsonPrefixScanner();
        foreach (int id in Tokenizer.Encode(prefix))
        {
            constraint.Accept(id);
            Assert.True(scanner.Push(Bytes(id)));
        }
        var logits = new float[Tokenizer.VocabSize];
        constraint.MaskLogits(logits, Eos);
        int numAllowed = 0;
        for (int id = 0; id < logits.Length; id++)
        {
            var copy = scanner;
            var bytes = Bytes(id);
            bool expected = !Tokenizer.IsSpecial(id) && bytes.Length > 0 && copy.Push(bytes);
            Assert.True(expected == !float.IsNegativeInfinity(logits[id]), $"token {id} {Tokenizer.IdToToken(id)}: expected allowed={expected}");
            if (expected) numAllowed++;
        }
        Assert.True(numAllowed > 0);
    }

    [Fact]
    public void OnceTheObjectIsClosedOnlyAnEndTokenMayFollow()
    {
        var constraint = new JsonObjectConstraint(TokenTrie.For(Tokenizer));
        foreach (int id in Tokenizer.Encode("{\"a\": 1}")) constraint.Accept(id);
        Assert.True(constraint.IsComplete);
        var logits = new float[Tokenizer.VocabSize];
        constraint.MaskLogits(logits, Eos);
        Assert.Equal([151645], Enumerable.Range(0, logits.Length).Where(i => !float.IsNegativeInfinity(logits[i])));
    }

    [Fact]
    public void AThinkBlockIsLeftFreeAndTheJsonStartsAfterIt()
    {
        int open = Tokenizer.TokenToId("<think>")!.Value, close = Tokenizer.TokenToId("</think>")!.Value;
        var constraint = new JsonObjectConstraint(TokenTrie.For(Tokenizer), thinkOpenTokenId: open, thinkCloseTokenId: close);
        var logits = new float[Tokenizer.VocabSize];
        constraint.MaskLogits(logits, Eos);
        Assert.False(float.IsNegativeInfinity(logits[open]));
        Assert.True(float.IsNegativeInfinity(logits[Tokenizer.Encode("Hello")[0]]));

        constraint.Accept(open);
        Array.Clear(logits);
        constraint.MaskLogits(logits, Eos);
        Assert.DoesNotContain(logits, float.IsNegativeInfinity); // reasoning is unconstrained

        foreach (int id in Tokenizer.Encode("Let me think.")) constraint.Accept(id);
        constraint.Accept(close);
        constraint.MaskLogits(logits, Eos);
        Assert.True(float.IsNegativeInfinity(logits[Tokenizer.Encode("Hello")[0]]));
        Assert.False(float.IsNegativeInfinity(logits[Tokenizer.Encode("{")[0]]));
    }

    /// <summary>The parrot asked for something it never learned, sampled at temperature 1: the answer is still JSON.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void SampledAnswersUnderTheConstraintAreValidJson(ulong seed)
    {
        var prompt = Tokenizer.Encode("<|im_start|>user\nList three colors.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
        var result = EngineRun.RunOne(parrot.Model, parrot.Backend, new EngineRequest
        {
            RequestId = "json",
            PromptTokenIds = prompt,
            Sampling = new SamplingParams { Temperature = 1, Seed = seed },
            MaxTokens = 48,
            Constraint = new JsonObjectConstraint(TokenTrie.For(Tokenizer)),
        });
        var scanner = new JsonPrefixScanner();
        Assert.True(scanner.Push(Encoding.UTF8.GetBytes(result.Text)), result.Text);
        if (result.FinishReason == "stop")
        {
            using var doc = JsonDocument.Parse(result.Text);
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        }
        else
        {
            Assert.Equal("length", result.FinishReason);
        }
    }

    private byte[] Bytes(int id)
    {
        var list = new List<byte>();
        Tokenizer.AppendTokenBytes(id, list);
        return [.. list];
    }
}
