using System.Text;
using System.Text.Json;
using Hearth.Tokenization.Constraints;

namespace Hearth.Tokenization.Tests.Constraints;

public sealed class JsonPrefixScannerTests
{
    public static TheoryData<string> ValidObjects => new()
    {
        "{}",
        "{\n  \"a\": 1,\r\n  \"b\": [\n    2\n  ]\n}",
        "{\"a\": [1, -2.5e+3, 0, 0.25, 7E-2, true, false, null, {\"b\": \"x\\u00e9\\n\\\"q\\\"\"}], \"c\": {}}",
        "{\"中文\": \"你好 👍\", \"empty\": \"\", \"arr\": [[], [[]], [{}]]}",
        "{\"n\":-0.0e0}",
    };

    [Theory]
    [MemberData(nameof(ValidObjects))]
    public void EveryPrefixOfAValidObjectIsAcceptedAndTheWholeIsComplete(string json)
    {
        using var _ = JsonDocument.Parse(json); // the cases themselves are valid JSON
        var bytes = Encoding.UTF8.GetBytes(json);
        var scanner = new JsonPrefixScanner();
        for (int i = 0; i < bytes.Length; i++)
        {
            Assert.False(scanner.IsComplete, $"complete too early at byte {i}");
            Assert.True(scanner.Push(bytes[i]), $"rejected byte {i} ('{(char)bytes[i]}') of {json}");
        }
        Assert.True(scanner.IsComplete);
    }

    [Theory]
    [InlineData("[1]", 0)]
    [InlineData("\"a\"", 0)]
    [InlineData("{\"a\" 1}", 5)]
    [InlineData("{\"a\": 01}", 7)]
    [InlineData("{\"a\": tru}", 9)]
    [InlineData("{\"a\": \"\u0001\"}", 7)]
    [InlineData("{,}", 1)]
    [InlineData("{\"a\": 1,}", 8)]
    [InlineData("{\"a\": 1}}", 8)]
    [InlineData("{\"a\": 1} ", 8)]
    [InlineData("{\"a\": [}", 7)]
    [InlineData("{\"a\": -}", 7)]
    [InlineData("{\"a\": 1.}", 8)]
    [InlineData("{\"a\": \"\\x\"}", 8)]
    [InlineData("{\"a\": \"\\u12g4\"}", 11)]
    [InlineData("{1: 2}", 1)]
    [InlineData(" {}", 0)]
    [InlineData("{\n\n}", 2)]
    [InlineData("{\"a\":\r\n\r}", 7)]
    public void InvalidJsonIsRejectedAtTheFirstBadByte(string text, int badIndex)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var scanner = new JsonPrefixScanner();
        for (int i = 0; i < badIndex; i++) Assert.True(scanner.Push(bytes[i]), $"rejected byte {i} too early");
        Assert.False(scanner.Push(bytes[badIndex]));
    }

    [Fact]
    public void LongRunsOfWhitespaceAreCut()
    {
        var scanner = new JsonPrefixScanner();
        Assert.True(scanner.Push("{\"a\":"u8));
        for (int i = 0; i < JsonPrefixScanner.MaxWhitespaceRun; i++) Assert.True(scanner.Push((byte)' '));
        var copy = scanner;
        Assert.False(copy.Push((byte)'\n'));
        Assert.True(scanner.Push((byte)'1'));
        Assert.True(scanner.Push((byte)' ')); // the run restarts after a value
    }

    [Fact]
    public void NumbersHaveAtMostMaxDigitsPerPart()
    {
        var scanner = new JsonPrefixScanner();
        Assert.True(scanner.Push("{\"a\": -"u8));
        for (int i = 0; i < JsonPrefixScanner.MaxDigits; i++) Assert.True(scanner.Push((byte)'7'));
        var copy = scanner;
        Assert.False(copy.Push((byte)'7'));
        Assert.True(scanner.Push((byte)'.'));
        for (int i = 0; i < JsonPrefixScanner.MaxDigits; i++) Assert.True(scanner.Push((byte)'1'));
        Assert.True(scanner.Push("e+12}"u8));
        Assert.True(scanner.IsComplete);
    }

    [Fact]
    public void NestingDeeperThanTheStackIsRejected()
    {
        var scanner = new JsonPrefixScanner();
        Assert.True(scanner.Push((byte)'{'));
        Assert.True(scanner.Push("\"a\":"u8));
        for (int depth = 1; depth < JsonPrefixScanner.MaxDepth; depth++) Assert.True(scanner.Push((byte)'['), $"depth {depth}");
        Assert.False(scanner.Push((byte)'['));
    }

    [Fact]
    public void EqualStatesHaveEqualKeysAndDifferentStacksDoNot()
    {
        var a = new JsonPrefixScanner();
        var b = new JsonPrefixScanner();
        a.Push("{\"x\": [\"ab"u8);
        b.Push("{\"y\": [\"cdef"u8);
        Assert.Equal(a.Key, b.Key);
        var c = new JsonPrefixScanner();
        c.Push("{\"y\": {\"z\": \"cdef"u8);
        Assert.NotEqual(a.Key, c.Key);
    }
}
