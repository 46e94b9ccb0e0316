using Hearth.Backends.Cuda;

namespace Hearth.Backends.Tests.Cuda;

public class GraphPieceTests
{
    [Theory]
    [InlineData(null, 8)]    // unset: the default first piece
    [InlineData("0", 0)]     // one graph, no cuts
    [InlineData("16", 16)]
    [InlineData("-3", 8)]    // nonsense falls back to the default instead of failing the load
    [InlineData("many", 8)]
    public void HEARTH_CUDA_GRAPH_PIECE_sets_the_first_piece(string? value, int expected) =>
        Assert.Equal(expected, CudaBackend.ParsePieceLaunches(value, 8));
}
