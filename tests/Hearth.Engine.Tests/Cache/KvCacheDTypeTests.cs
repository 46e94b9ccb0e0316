using Hearth.Backends.Cpu;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Engine.Cache;
using Hearth.Engine.Loading;
using Hearth.Engine.Runner;

namespace Hearth.Engine.Tests.Cache;

/// <summary>--kv-cache-dtype and the KV budget arithmetic: what a card of a given size holds for a model.</summary>
public class KvCacheDTypeTests
{
    // Qwen3-14B's attention shape: 40 layers, 8 kv heads of 128 dims, 40,960 positions.
    private static readonly ModelConfig Qwen3_14B = new()
    {
        HiddenSize = 5120, IntermediateSize = 17408, NumHiddenLayers = 40, NumAttentionHeads = 40, NumKeyValueHeads = 8,
        HeadDim = 128, VocabSize = 151936, MaxPositionEmbeddings = 40960,
    };

    [Theory]
    [InlineData("auto", null)]
    [InlineData("AUTO", null)]
    [InlineData(" bf16 ", DType.BF16)]
    [InlineData("fp8", DType.F8E4M3)]
    [InlineData("fp8_e4m3", DType.F8E4M3)]
    public void The_option_parses_vllm_names(string value, DType? expected) => Assert.Equal(expected, KvCacheDTypes.Parse(value));

    [Theory]
    [InlineData("fp16")]
    [InlineData("int8")]
    [InlineData("fp8_e5m2")]
    public void An_unknown_kv_cache_dtype_is_a_one_line_error(string value)
    {
        var e = Assert.Throws<HearthException>(() => KvCacheDTypes.Parse(value));
        Assert.Equal($"--kv-cache-dtype must be auto, bf16 or fp8, not '{value}'", e.Message);
    }

    [Fact]
    public void Auto_on_the_cpu_is_f32_and_fp8_is_supported()
    {
        using var cpu = new CpuBackend(1);
        Assert.Equal(DType.F32, KvCacheDTypes.Resolve(null, cpu));
        Assert.Equal(DType.F8E4M3, KvCacheDTypes.Resolve(DType.F8E4M3, cpu));
        Assert.Throws<HearthException>(() => KvCacheDTypes.Resolve(DType.F16, cpu));
    }

    [Fact]
    public void An_fp8_token_takes_half_the_bytes_of_a_bf16_one()
    {
        // 2 (K and V) x 40 layers x 8 kv heads x 128 dims = 81,920 elements per token.
        Assert.Equal(16 * 163_840L, PagedKvCache.BlockSizeBytes(Qwen3_14B, DType.BF16, 16));
        Assert.Equal(16 * 81_920L, PagedKvCache.BlockSizeBytes(Qwen3_14B, DType.F8E4M3, 16));
    }

    [Fact]
    public void A_24_GB_card_with_int4_weights_holds_a_32K_context_and_fp8_doubles_the_tokens()
    {
        // 24 GiB at utilization 0.9 with 9.5 GiB used after loading (INT4 14B weights, activations, context).
        long total = 24L << 30, used = (long)(9.5 * (1L << 30));
        long budget = BackendFactory.GpuKvBudgetBytes(total, used, 0.9);
        var options = new EngineOptions { MaxNumSeqs = 4 };
        var bf16 = KvCachePlan.ForBudget(Qwen3_14B, DType.BF16, 16, BackendFactory.KvCacheBytesWithin(options, Qwen3_14B, DType.BF16, budget), 40960);
        var fp8 = KvCachePlan.ForBudget(Qwen3_14B, DType.F8E4M3, 16, BackendFactory.KvCacheBytesWithin(options, Qwen3_14B, DType.F8E4M3, budget), 40960);
        // (0.9 x 24 GiB - 9.5 GiB - 256 MiB) / 160 KiB = 77,660 bf16 tokens, floored to whole 16-token blocks.
        Assert.Equal(77_648, bf16.NumTokens);
        Assert.Equal(155_312, fp8.NumTokens);
        Assert.Equal(40_960, fp8.MaxContextAtBatch1);
        Assert.True(bf16.MaxContextAtBatch1 >= 32_768);
        Assert.Equal("KV cache: 155,312 tokens (11.85 GiB, fp8_e4m3) = max context 40,960 at batch 1", fp8.Describe());
    }

    [Fact]
    public void The_budget_caps_at_what_the_requests_can_use()
    {
        var options = new EngineOptions { MaxNumSeqs = 2, MaxModelLen = 1000 };
        long bytes = BackendFactory.KvCacheBytesWithin(options, Qwen3_14B, DType.F8E4M3, 1L << 40);
        Assert.Equal(2 * 63 * PagedKvCache.BlockSizeBytes(Qwen3_14B, DType.F8E4M3, 16), bytes);   // 2 x ceil(1000 / 16) blocks
    }

    [Fact]
    public void A_budget_below_what_the_model_uses_is_a_clear_error()
    {
        var e = Assert.Throws<HearthException>(() => BackendFactory.GpuKvBudgetBytes(24L << 30, 30L << 30, 0.9));
        Assert.StartsWith("no GPU memory is left for the KV cache", e.Message);
    }
}
