namespace Hearth.Tokenization.Bpe;

/// <summary>
/// Canonical composition data, decoded once from the generated tables. .NET's own string.Normalize is a no-op
/// under InvariantGlobalization (which this project builds with), so NFC is implemented here.
/// </summary>
internal static partial class UnicodeNfcData
{
    private const int HangulSBase = 0xAC00, HangulLBase = 0x1100, HangulVBase = 0x1161, HangulTBase = 0x11A7;
    private const int HangulLCount = 19, HangulVCount = 21, HangulTCount = 28;
    private const int HangulNCount = HangulVCount * HangulTCount, HangulSCount = HangulLCount * HangulNCount;

    private static readonly Dictionary<int, byte> CombiningClasses = new();
    private static readonly Dictionary<int, int[]> Decompositions = new();
    private static readonly Dictionary<long, int> Compositions = new();

    // One bit per code point: set where the code point can change under NFC (it has a non-zero combining class,
    // decomposes without recomposing, or may compose with what precedes it). Text without such code points is NFC.
    private static readonly ulong[] UnstableBits = new ulong[0x110000 / 64];

    static UnicodeNfcData()
    {
        var ccc = Convert.FromBase64String(CombiningClassesBase64);
        for (int i = 0; i < ccc.Length; i += 4)
        {
            int cp = Read24(ccc, i);
            CombiningClasses[cp] = ccc[i + 3];
            SetUnstable(cp);
        }

        var comp = Convert.FromBase64String(CompositionsBase64);
        var primaryComposites = new HashSet<int>();
        for (int i = 0; i < comp.Length; i += 9)
        {
            int first = Read24(comp, i), second = Read24(comp, i + 3), composite = Read24(comp, i + 6);
            Compositions[Key(first, second)] = composite;
            primaryComposites.Add(composite);
            SetUnstable(second);
        }

        var dec = Convert.FromBase64String(DecompositionsBase64);
        for (int i = 0; i < dec.Length;)
        {
            int cp = Read24(dec, i);
            int count = dec[i + 3];
            var parts = new int[count];
            for (int k = 0; k < count; k++) parts[k] = Read24(dec, i + 4 + 3 * k);
            Decompositions[cp] = parts;
            if (!primaryComposites.Contains(cp)) SetUnstable(cp);
            i += 4 + 3 * count;
        }

        for (int v = HangulVBase; v < HangulVBase + HangulVCount; v++) SetUnstable(v);
        for (int t = HangulTBase + 1; t < HangulTBase + HangulTCount; t++) SetUnstable(t);
    }

    public static bool IsUnstable(int codePoint) => (UnstableBits[codePoint >> 6] & (1UL << (codePoint & 63))) != 0;

    public static int CombiningClass(int codePoint) =>
        codePoint < 0x300 ? 0 : CombiningClasses.TryGetValue(codePoint, out var c) ? c : 0;

    /// <summary>Appends the full canonical decomposition of one code point.</summary>
    public static void Decompose(int codePoint, List<int> output)
    {
        int sIndex = codePoint - HangulSBase;
        if ((uint)sIndex < HangulSCount)
        {
            output.Add(HangulLBase + sIndex / HangulNCount);
            output.Add(HangulVBase + sIndex % HangulNCount / HangulTCount);
            int t = sIndex % HangulTCount;
            if (t != 0) output.Add(HangulTBase + t);
            return;
        }
        if (Decompositions.TryGetValue(codePoint, out var parts)) output.AddRange(parts);
        else output.Add(codePoint);
    }

    /// <summary>The primary composite of a pair, or -1.</summary>
    public static int Compose(int first, int second)
    {
        int lIndex = first - HangulLBase, vIndex = second - HangulVBase;
        if ((uint)lIndex < HangulLCount && (uint)vIndex < HangulVCount)
            return HangulSBase + (lIndex * HangulVCount + vIndex) * HangulTCount;
        int sIndex = first - HangulSBase, tIndex = second - HangulTBase;
        if ((uint)sIndex < HangulSCount && sIndex % HangulTCount == 0 && tIndex > 0 && tIndex < HangulTCount)
            return first + tIndex;
        return Compositions.TryGetValue(Key(first, second), out var c) ? c : -1;
    }

    private static long Key(int first, int second) => ((long)first << 21) | (uint)second;

    private static int Read24(byte[] data, int offset) => data[offset] | data[offset + 1] << 8 | data[offset + 2] << 16;

    private static void SetUnstable(int codePoint) => UnstableBits[codePoint >> 6] |= 1UL << (codePoint & 63);
}
