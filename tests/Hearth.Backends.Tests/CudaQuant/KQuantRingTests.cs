using Hearth.Backends.Cuda;
using Xunit;

namespace Hearth.Backends.Tests.CudaQuant;

/// <summary>
/// Which GGUF g4 launches stream through the cp.async ring (session 7's H100 timings): the 14B Q4_K down (320 tiles,
/// k = 17408) and mixed q|k|v do; the Q4_K-only q|k|v and o (k = 5120), which the ring made slower or no faster, and
/// gate|up (2,176 tiles) keep the register stream; 0 switches the ring off.
/// </summary>
public class KQuantRingTests
{
    [Theory]
    [InlineData(320, 17408, false, true)]    // down
    [InlineData(448, 5120, true, true)]      // q|k|v with a Q6_K v
    [InlineData(448, 5120, false, false)]    // q|k|v all Q4_K
    [InlineData(320, 5120, false, false)]    // o
    [InlineData(2176, 5120, false, false)]   // gate|up
    public void The_H100s_14B_launches(long tiles, int k, bool mixes, bool ring)
    {
        Assert.Equal(ring, CudaBackend.UsesKQuantRing(tiles, k, mixes, maxTiles: -1, multiprocessors: 132));
    }

    [Fact]
    public void Zero_max_tiles_switches_the_ring_off()
    {
        Assert.False(CudaBackend.UsesKQuantRing(320, 17408, false, maxTiles: 0, multiprocessors: 132));
        Assert.False(CudaBackend.UsesKQuantRing(448, 5120, true, maxTiles: 0, multiprocessors: 132));
    }
}
