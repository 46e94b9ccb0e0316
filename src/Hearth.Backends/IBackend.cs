using Hearth.Core;

namespace Hearth.Backends;

/// <summary>
/// The operations a model's forward pass is made of. The CPU backend runs them synchronously; the CUDA
/// backend enqueues them on one stream, so results are only visible to the host after
/// <see cref="CopyToHost{T}"/> or <see cref="Synchronize"/>. Shapes are given at each parameter;
/// "act" is <see cref="ActivationDType"/>. Ops never allocate.
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>"cpu" or "cuda".</summary>
    string Name { get; }

    /// <summary>The dtype of hidden states between ops (F32 on the CPU, BF16 on CUDA).</summary>
    DType ActivationDType { get; }

    /// <summary>Zero-initialized memory owned by the caller.</summary>
    DeviceBuffer Allocate(long sizeBytes);

    /// <summary>
    /// Makes a host tensor (for example a view into a memory-mapped checkpoint) usable by ops. The CPU
    /// backend returns the same view without copying; a GPU backend uploads it into memory it owns and
    /// frees with the backend.
    /// </summary>
    Tensor UploadWeight(Tensor host);

    /// <summary>
    /// <see cref="UploadWeight"/> for the parts of one fused projection (q|k|v, gate|up: same input features). A GPU
    /// backend places them back to back in one allocation, so that one GEMM covers all of them (see
    /// <see cref="LinearWeight.PartsAreContiguous"/>); the default uploads each part on its own.
    /// </summary>
    Tensor[] UploadFusedWeight(IReadOnlyList<Tensor> hostParts) => hostParts.Select(UploadWeight).ToArray();

    /// <summary>
    /// <see cref="UploadWeight"/> for every tensor of a quantized matrix (data, scales, zeros, permutation).
    /// Backends that cannot run <paramref name="host"/>'s format throw a <see cref="HearthException"/> naming it.
    /// </summary>
    QuantizedMatrix UploadQuantized(QuantizedMatrix host) => host.WithTensors(UploadWeight);

    void CopyToDevice<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged;

    /// <summary>Waits for pending work, then copies.</summary>
    void CopyToHost<T>(Tensor source, Span<T> destination) where T : unmanaged;

    void Synchronize();

    /// <summary>output[t] = table[ids[t]]. table [vocab, hidden] (weight dtype); ids [tokens] I32; output [tokens, hidden] act.</summary>
    void Embedding(Tensor table, Tensor tokenIds, Tensor output);

    /// <summary>
    /// Like <see cref="Embedding"/> for a quantized table (GGUF files quantize token_embd): only the looked-up
    /// rows are dequantized, so no dequantized copy of the table is ever made. output: [tokens, hidden].
    /// </summary>
    void QuantizedEmbedding(QuantizedMatrix table, Tensor tokenIds, Tensor output) =>
        throw new HearthException($"the {Name} backend cannot look up rows of a {table.Format} embedding table yet");

    /// <summary>output = x / rms(x) · weight over the last axis. input, output [rows, dim]; weight [dim].</summary>
    void RmsNorm(Tensor input, Tensor weight, float epsilon, Tensor output);

    /// <summary>residual += input, then output = RmsNorm(residual). residual, input, output [rows, dim].</summary>
    void AddRmsNorm(Tensor residual, Tensor input, Tensor weight, float epsilon, Tensor output);

    /// <summary>output = input · Wᵀ (+ bias), accumulated in F32. input [rows, in] act; output [rows, out] act or F32.</summary>
    void Linear(Tensor input, LinearWeight weight, Tensor output);

    /// <summary>
    /// ids[r] = the index of row r's largest value, the lowest among ties; NaNs never win. logits [rows, vocab]
    /// F32; ids [rows] I32, written on the backend (the greedy pick without sending logits to the host).
    /// </summary>
    void ArgMaxRows(Tensor logits, Tensor ids) => throw new HearthException($"the {Name} backend cannot pick greedy tokens");

    /// <summary>
    /// <see cref="Linear"/> then <see cref="ArgMaxRows"/> of its output; backends may fuse the two, and a fused pick
    /// may leave output (then only scratch of the Linear's shape) unwritten: callers read ids only.
    /// </summary>
    void LinearArgMax(Tensor input, LinearWeight weight, Tensor output, Tensor ids)
    {
        Linear(input, weight, output);
        ArgMaxRows(output, ids);
    }

    /// <summary>
    /// Splits a fused projection qkv [tokens, (heads + 2·kvHeads)·headDim] into query [tokens, heads, headDim],
    /// key and value [tokens, kvHeads, headDim]; applies per-head RMSNorm to query and key when the norm
    /// weights [headDim] are given (Qwen3), then RoPE at positions [tokens] to query and key.
    /// </summary>
    void QkNormRope(Tensor qkv, Tensor? queryNorm, Tensor? keyNorm, float epsilon, Tensor positions,
        RopeParameters rope, Tensor query, Tensor key, Tensor value);

    /// <summary>Writes key and value [tokens, kvHeads, headDim] to the cache slots in slotMapping [tokens].</summary>
    void WriteKvCache(Tensor key, Tensor value, KvCacheLayer cache, Tensor slotMapping);

    /// <summary>
    /// <see cref="QkNormRope"/> then <see cref="WriteKvCache"/> of its key and value: one step of an attention layer's
    /// input. Backends may fuse the two; query, key and value are written either way.
    /// </summary>
    void QkNormRopeWriteKv(Tensor qkv, Tensor? queryNorm, Tensor? keyNorm, float epsilon, Tensor positions,
        RopeParameters rope, Tensor query, Tensor key, Tensor value, KvCacheLayer cache, Tensor slotMapping)
    {
        QkNormRope(qkv, queryNorm, keyNorm, epsilon, positions, rope, query, key, value);
        WriteKvCache(key, value, cache, slotMapping);
    }

    /// <summary>
    /// Causal grouped-query attention of query [tokens, heads, headDim] over the paged cache (which already
    /// holds this step's keys and values), as described by metadata. output [tokens, heads, headDim].
    /// </summary>
    void Attention(Tensor query, KvCacheLayer cache, AttentionMetadata metadata, float scale, Tensor output);

    /// <summary>output = silu(gate) · up where gateUp [rows, 2·inter] holds gate then up; output [rows, inter].</summary>
    void SiluMul(Tensor gateUp, Tensor output);

    /// <summary>
    /// <see cref="Linear"/> of a two-part gate|up weight into gateUp [rows, 2·inter], then <see cref="SiluMul"/> into
    /// output [rows, inter]. Backends may fuse the two, and a fused one may leave gateUp (then only scratch) unwritten.
    /// </summary>
    void LinearSiluMul(Tensor input, LinearWeight gateUpWeight, Tensor gateUp, Tensor output)
    {
        Linear(input, gateUpWeight, gateUp);
        SiluMul(gateUp, output);
    }

    /// <summary>output = a + b, all of one shape.</summary>
    void Add(Tensor a, Tensor b, Tensor output);

    /// <summary>output[i] = input[rows[i]]. input [n, dim]; rows [m] I32; output [m, dim].</summary>
    void GatherRows(Tensor input, Tensor rows, Tensor output);
}
