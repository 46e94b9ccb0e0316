using System.Runtime.CompilerServices;

namespace Hearth.Backends.Cpu.Gguf;

/// <summary>
/// f16 → f32 by lookup (256 KB, pinned), as ggml does: the software conversion behind (float)Half costs more than
/// the whole SIMD dot product of a 32-value block.
/// </summary>
internal static unsafe class HalfTable
{
    private static readonly float[] Values = Build();
    private static readonly float* Pointer = (float*)Unsafe.AsPointer(ref Values[0]);

    private static float[] Build()
    {
        var table = GC.AllocateArray<float>(65536, pinned: true);
        for (int i = 0; i < table.Length; i++) table[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        return table;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(byte* p) => Pointer[Unsafe.ReadUnaligned<ushort>(p)];
}
