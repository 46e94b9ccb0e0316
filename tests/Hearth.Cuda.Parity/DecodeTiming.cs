using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Decode attention alone at Qwen3-14B's shape (40 heads, 8 kv heads, dim 128), batch 1 and 8, contexts 512 to
/// 32K, with the engine's table width (40,960 positions = 2,560 blocks): the older split kernel + combine launch,
/// the fused kernel over bf16, and over fp8. Timed as one step's 40 layers captured in a CUDA graph and replayed,
/// so launch overhead is what a real decode step pays (none from the host).
/// </summary>
internal static class DecodeTiming
{
    private const int Heads = 40, KvHeads = 8, HeadDim = 128, BlockSize = 16, TableBlocks = 2560, Layers = 40;

    public static void Run(CudaBackend cuda)
    {
        Console.WriteLine("decode attention, Qwen3-14B shape, per layer (40 launches per graph replay):");
        bool fused = cuda.UseFusedDecode;
        foreach (int batch in new[] { 1, 8 })
            foreach (int context in new[] { 512, 4096, 32768 })
            {
                if (batch * context > 8 * 4096) continue;
                var line = new List<string>();
                foreach (var (name, dtype, useFused, unroll, transpose) in new[] { ("split+combine bf16", DType.BF16, false, 8, false),
                    ("fused bf16", DType.BF16, true, 8, false), ("fused fp8", DType.F8E4M3, true, 8, false), ("fused-u4 bf16", DType.BF16, true, 4, false),
                    ("fused-u4 fp8", DType.F8E4M3, true, 4, false), ("fused-tr bf16", DType.BF16, true, 8, true), ("fused-tr fp8", DType.F8E4M3, true, 8, true) })
                {
                    cuda.UseFusedDecode = useFused;
                    cuda.DecodeUnroll = unroll;
                    cuda.DecodeTransposeReduce = transpose;
                    double seconds = PerLayer(cuda, batch, context, dtype);
                    double kvBytes = 2.0 * batch * context * KvHeads * HeadDim * dtype.ElementSizeBytes();
                    line.Add($"{name} {seconds * 1e6:F1} us ({kvBytes / seconds / 1e9:F0} GB/s)");
                }
                Console.WriteLine($"  batch {batch} context {context,5}:\n    " + string.Join("\n    ", line));
            }
        cuda.UseFusedDecode = fused;
        cuda.DecodeUnroll = 8;
        cuda.DecodeTransposeReduce = true;
    }

    private static double PerLayer(CudaBackend cuda, int batch, int context, DType dtype)
    {
        using var memory = new BackendPair(cuda, cuda);
        int blocksPerSeq = (context + BlockSize - 1) / BlockSize;
        var cacheShape = new Shape(batch * blocksPerSeq, BlockSize, KvHeads, HeadDim);
        var cache = new KvCacheLayer(memory.Zeros(cuda, cacheShape, dtype), memory.Zeros(cuda, cacheShape, dtype));
        var query = memory.Zeros(cuda, new Shape(batch, Heads, HeadDim), DType.BF16);
        var output = memory.Zeros(cuda, new Shape(batch, Heads, HeadDim), DType.BF16);
        int[] tables = new int[batch * TableBlocks];
        for (int s = 0; s < batch; s++)
            for (int b = 0; b < blocksPerSeq; b++) tables[s * TableBlocks + b] = s * blocksPerSeq + b;
        var metadata = new AttentionMetadata
        {
            NumSeqs = batch, NumTokens = batch, MaxQueryLen = 1, MaxSeqLen = context,
            QueryStartLocs = memory.Ints(cuda, Enumerable.Range(0, batch + 1).ToArray(), new Shape(batch + 1)),
            SeqLens = memory.Ints(cuda, Enumerable.Repeat(context, batch).ToArray(), new Shape(batch)),
            BlockTables = memory.Ints(cuda, tables, new Shape(batch, TableBlocks)),
            SlotMapping = memory.Zeros(cuda, new Shape(batch), DType.I32), Positions = memory.Zeros(cuda, new Shape(batch), DType.I32),
        };
        void Step()
        {
            for (int l = 0; l < Layers; l++) cuda.Attention(query, cache, metadata, 0.088f, output);
        }
        return GraphTiming.SecondsPerReplay(cuda, Step, replays: 20) / Layers;
    }
}
