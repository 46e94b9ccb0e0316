namespace Hearth.Backends.Cpu.Gguf;

/// <summary>
/// One input row quantized to int8 in 32-value blocks, as llama.cpp does for its integer dot products:
/// d = max|x| / 127, q = round-to-even(x / d). Prepared layout: [n/32] f32 d, then [n] int8 q, then [n/16] and
/// [n/32] f32 sums of the dequantized values d·q over each 16 and each 32 (for the formats' offsets), each part
/// 64-byte aligned.
/// </summary>
internal static unsafe class Q8Activations
{
    public const int Block = 32;

    public static long SizeBytes(int n) => Sums32Offset(n) + n / Block * sizeof(float);

    public static long QuantsOffset(int n) => Align(n / Block * sizeof(float));

    public static long SumsOffset(int n) => QuantsOffset(n) + Align(n);

    public static long Sums32Offset(int n) => SumsOffset(n) + Align(n / 16 * sizeof(float));

    private static long Align(long bytes) => (bytes + 63) & ~63L;

    public static void Quantize(float* x, int n, byte* prepared)
    {
        float* scales = (float*)prepared;
        sbyte* q = (sbyte*)(prepared + QuantsOffset(n));
        float* sums = (float*)(prepared + SumsOffset(n));
        float* sums32 = (float*)(prepared + Sums32Offset(n));
        for (int b = 0; b < n / Block; b++)
        {
            float* xb = x + (nint)b * Block;
            float amax = 0;
            for (int i = 0; i < Block; i++) amax = MathF.Max(amax, MathF.Abs(xb[i]));
            float d = amax / 127f;
            float inverse = d == 0 ? 0 : 1f / d;
            scales[b] = d;
            for (int half = 0; half < 2; half++)
            {
                int sum = 0;
                for (int i = 16 * half; i < 16 * half + 16; i++)
                {
                    int v = (int)MathF.Round(xb[i] * inverse);
                    q[b * Block + i] = (sbyte)v;
                    sum += v;
                }
                sums[2 * b + half] = d * sum;
            }
            sums32[b] = sums[2 * b] + sums[2 * b + 1];
        }
    }
}
