using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The Q4_K linears of a Qwen3-14B Q4_K_M decode layer that K4Timing and K4bTiming time: name, weight copies (enough
/// that no copy stays in L2) and a maker of one copy's parts from random Q4_K (and Q6_K) blocks.
/// </summary>
internal static class Q4KDecodeOps
{
    private const int Hidden = 5120, Inter = 17408, QRows = 5120, KvRows = 1024;

    public static (string Name, int Copies, Func<QuantizedMatrix[]> Make)[] Make(QuantHostMatrices host)
    {
        QuantizedMatrix Q4(int n, int k) => host.GgufRandomBytes(WeightFormat.Q4_K, n, k);
        return
        [
            ("q|k|v Q4_K", 4, () => [Q4(QRows, Hidden), Q4(KvRows, Hidden), Q4(KvRows, Hidden)]),
            ("q|k|v Q4_K|Q4_K|Q6_K", 4, () => [Q4(QRows, Hidden), Q4(KvRows, Hidden), host.GgufRandomBytes(WeightFormat.Q6_K, KvRows, Hidden)]),
            ("o Q4_K [5120, 5120]", 4, () => [Q4(Hidden, QRows)]),
            ("gate|up+silu Q4_K", 2, () => [Q4(Inter, Hidden), Q4(Inter, Hidden)]),
            ("ffn_down Q4_K [5120, 17408]", 2, () => [Q4(Hidden, Inter)]),
        ];
    }
}
