using Hearth.Backends.Cuda;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>The G6 GEMV's warps a tile: 8 only for few tiles and a long k (the 14B ffn_down), or when forced.</summary>
public class G6WarpsTests
{
    [Theory]
    [InlineData(320, 17408, 1, 8)]     // ffn_down on 132 SMs at batch 1
    [InlineData(320, 17408, 4, 8)]
    [InlineData(320, 17408, 8, 4)]     // 8 rows: 4 warps measured faster
    [InlineData(64, 5120, 1, 4)]       // attn_v
    [InlineData(9496, 5120, 1, 4)]     // lm_head
    [InlineData(2176, 17408, 1, 4)]    // many tiles: enough warps already
    public void Rule(long tiles, int k, int rows, int expected) => Assert.Equal(expected, CudaBackend.G6WarpsFor(tiles, k, rows, 132, null));

    [Fact]
    public void Forced() => Assert.Equal(4, CudaBackend.G6WarpsFor(320, 17408, 1, 132, 4));
}
