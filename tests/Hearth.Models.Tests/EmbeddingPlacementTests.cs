using Hearth.Models.Qwen3;

namespace Hearth.Models.Tests;

public class EmbeddingPlacementTests
{
    // A bf16 14B prefill read its 2,048 embedding rows over PCIe when the table always lived on the host: quantized
    // checkpoints keep it there to fit a small card, bf16 ones keep it on the GPU, and the variable forces either.
    [Theory]
    [InlineData(null, false, false)]
    [InlineData(null, true, true)]
    [InlineData("", true, true)]
    [InlineData("0", true, false)]
    [InlineData("1", false, true)]
    public void The_untied_embedding_goes_to_host_memory_only_for_quantized_checkpoints_unless_forced(string? overrideValue, bool quantized, bool onHost)
    {
        Assert.Equal(onHost, Qwen3Weights.EmbeddingOnHost(overrideValue, quantized));
    }
}
