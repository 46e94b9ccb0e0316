using Hearth.Backends.Cpu;
using Hearth.Backends.Tests.Cpu;
using Hearth.Core;

namespace Hearth.Backends.Tests.Quant;

[Collection(SerialCollection.Name)]
public class QuantizedAllocationTests
{
    [Fact]
    public void Quantized_Linear_allocates_nothing_in_steady_state()
    {
        using var arena = new TestArena(CpuSimd.Best, numThreads: 3);
        var random = new Random(2);
        const int hidden = 256;
        var weight = LinearWeight.Quantized(
            QuantArena.Int4(arena, random, 64, hidden, 128, true, true, out _),
            QuantArena.Fp8(arena, random, 40, hidden, 128, 128, out _),
            QuantizedMatrix.Dense(arena.Weights(DType.BF16, TestArena.Random(random, 8 * hidden), new Shape(8, hidden), out _)));
        var decodeIn = arena.F32(TestArena.Random(random, hidden), new Shape(1, hidden));
        var decodeOut = arena.Zeros(DType.F32, new Shape(1, 112));
        // Nine rows take the batch path that dequantizes chunks into per-thread scratch.
        var prefillIn = arena.F32(TestArena.Random(random, 9 * hidden), new Shape(9, hidden));
        var prefillOut = arena.Zeros(DType.F32, new Shape(9, 112));

        void Step()
        {
            arena.Backend.Linear(decodeIn, weight, decodeOut);
            arena.Backend.Linear(prefillIn, weight, prefillOut);
        }

        var (caller, workers) = SteadyStateAllocations.Measure(Step, () => arena.Backend.WorkerAllocatedBytes);
        Assert.Equal(0, caller);
        Assert.Equal(0, workers);
    }
}
