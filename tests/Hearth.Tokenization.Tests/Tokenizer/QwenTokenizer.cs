using Hearth.Testing;

namespace Hearth.Tokenization.Tests.Tokenizing;

/// <summary>The real Qwen3 tokenizer from the parrot fixture, loaded once for all tests.</summary>
internal static class QwenTokenizer
{
    private static readonly Lazy<Tokenizer> Loaded = new(() => Tokenizer.Load(RepoPaths.Parrot));

    public static Tokenizer Instance => Loaded.Value;
}
