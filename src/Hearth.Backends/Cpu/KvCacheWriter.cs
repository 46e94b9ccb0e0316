using Hearth.Core;

namespace Hearth.Backends.Cpu;

/// <summary>
/// Scatters this step's keys and values into their paged cache slots: F32; BF16 rounded to nearest even; or
/// float8_e4m3fn with a per-tensor scale of 1.0 (vLLM's default for an uncalibrated e4m3 cache), rounded to
/// nearest even and saturated at ±448.
/// </summary>
internal static unsafe class KvCacheWriter
{
    public static void Write(Tensor key, Tensor value, KvCacheLayer cache, Tensor slotMapping)
    {
        CpuChecks.F32(key, "key");
        CpuChecks.F32(value, "value");
        CpuChecks.SameShape(key, value, "WriteKvCache key and value");
        CpuChecks.I32(slotMapping, "slot mapping");
        RequireCacheDType(cache);
        int tokens = key.Rows;
        int rowElements = cache.NumKvHeads * cache.HeadDim;
        if (key.Shape.Rank != 3 || key.Shape[1] != cache.NumKvHeads || key.Shape[2] != cache.HeadDim)
            throw new ArgumentException($"key {key.Shape} does not match the cache's [{cache.NumKvHeads}, {cache.HeadDim}] per token");
        if (slotMapping.NumElements != tokens) throw new ArgumentException($"slot mapping has {slotMapping.NumElements} slots for {tokens} tokens");
        long numSlots = (long)cache.NumBlocks * cache.BlockSize;
        int* slots = (int*)slotMapping.Data;
        DType dtype = cache.Key.DType;
        for (int t = 0; t < tokens; t++)
        {
            int slot = slots[t];
            // A negative slot marks a padding token that has no place in the cache (as in vLLM).
            if (slot < 0) continue;
            if (slot >= numSlots) throw new ArgumentException($"slot {slot} is outside the cache's {numSlots} slots");
            float* k = (float*)key.Data + (nint)t * rowElements;
            float* v = (float*)value.Data + (nint)t * rowElements;
            nint destination = (nint)slot * rowElements;
            if (dtype == DType.F8E4M3)
            {
                byte* kc = (byte*)cache.Key.Data + destination, vc = (byte*)cache.Value.Data + destination;
                for (int i = 0; i < rowElements; i++)
                {
                    kc[i] = Float8E4M3.FromSingle(k[i]);
                    vc[i] = Float8E4M3.FromSingle(v[i]);
                }
            }
            else if (dtype == DType.BF16)
            {
                ushort* kc = (ushort*)cache.Key.Data + destination, vc = (ushort*)cache.Value.Data + destination;
                for (int i = 0; i < rowElements; i++)
                {
                    kc[i] = BFloat16Bits.FromSingle(k[i]);
                    vc[i] = BFloat16Bits.FromSingle(v[i]);
                }
            }
            else
            {
                long bytes = (long)rowElements * sizeof(float);
                Buffer.MemoryCopy(k, (float*)cache.Key.Data + destination, bytes, bytes);
                Buffer.MemoryCopy(v, (float*)cache.Value.Data + destination, bytes, bytes);
            }
        }
    }

    public static void RequireCacheDType(KvCacheLayer cache)
    {
        if (cache.Key.DType is not (DType.F32 or DType.BF16 or DType.F8E4M3) || cache.Value.DType != cache.Key.DType)
            throw new ArgumentException($"the CPU KV cache must be F32, BF16 or F8E4M3, got {cache.Key.DType}/{cache.Value.DType}");
    }
}
