using Hearth.Backends.Cpu;

namespace Hearth.Backends.Tests.Cpu;

[Collection(SerialCollection.Name)]
public class MemoryBandwidthTests
{
    [Fact]
    public void Measures_a_plausible_read_bandwidth()
    {
        double gbps = MemoryBandwidth.MeasureReadGBps(bufferBytes: 64L << 20, runs: 2);
        // Any machine that runs this reads faster than 0.5 GB/s and slower than 10 TB/s.
        Assert.InRange(gbps, 0.5, 10_000);
    }
}
