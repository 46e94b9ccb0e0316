using System.Numerics;
using System.Runtime.InteropServices;

namespace Hearth.Engine.Scheduling;

/// <summary>Hash of one full block given the hash of the block before it (0 for the first block).</summary>
internal delegate ulong BlockHashFunction(ulong parentHash, ReadOnlySpan<int> tokenIds);

/// <summary>
/// A 64-bit hash chaining a block's token ids onto its parent's hash. It only has to spread well: every
/// hit is verified against the stored tokens, so a collision costs a cache miss, never a wrong answer.
/// </summary>
internal static class BlockHasher
{
    private const ulong Seed = 0x243F6A8885A308D3UL;
    private const ulong MulA = 0x9E3779B97F4A7C15UL;
    private const ulong MulB = 0xC2B2AE3D27D4EB4FUL;

    public static ulong Hash(ulong parentHash, ReadOnlySpan<int> tokenIds)
    {
        ulong h = Mix(parentHash ^ Seed);
        // Two token ids per 64-bit word halves the mixing work for the usual 16-token block.
        ReadOnlySpan<uint> words = MemoryMarshal.Cast<int, uint>(tokenIds);
        int i = 0;
        for (; i + 1 < words.Length; i += 2)
        {
            ulong word = words[i] | ((ulong)words[i + 1] << 32);
            h = BitOperations.RotateLeft(h ^ Mix(word * MulA), 29) * MulB;
        }
        if (i < words.Length) h = BitOperations.RotateLeft(h ^ Mix(words[i] * MulB), 29) * MulA;
        return Mix(h ^ (ulong)tokenIds.Length);
    }

    /// <summary>The 64-bit finalizer of MurmurHash3: every input bit flips each output bit with probability ~1/2.</summary>
    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        x *= 0xC4CEB93FE1A85B53UL;
        x ^= x >> 33;
        return x;
    }
}
