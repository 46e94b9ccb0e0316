namespace Hearth.Tokenization.Bpe;

/// <summary>
/// The GPT-2 byte-level alphabet: every byte is shown as a printable character so that vocabulary entries are
/// strings. Printable Latin-1 bytes stand for themselves; the other 68 bytes are assigned U+0100 upwards in order.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToCharTable = BuildByteToChar();
    private static readonly short[] CharToByteTable = BuildCharToByte();

    public static char ByteToChar(byte b) => ByteToCharTable[b];

    /// <summary>The byte a character stands for, or -1 when it is outside the alphabet.</summary>
    public static int CharToByte(char c) => c < CharToByteTable.Length ? CharToByteTable[c] : -1;

    /// <summary>Turns a byte-level token string into its bytes; false when a character is outside the alphabet.</summary>
    public static bool TryDecode(string token, List<byte> output)
    {
        int start = output.Count;
        foreach (char c in token)
        {
            int b = CharToByte(c);
            if (b < 0)
            {
                output.RemoveRange(start, output.Count - start);
                return false;
            }
            output.Add((byte)b);
        }
        return true;
    }

    private static bool IsPrintable(int b) => (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
            table[b] = IsPrintable(b) ? (char)b : (char)(0x100 + next++);
        return table;
    }

    private static short[] BuildCharToByte()
    {
        var table = new short[0x100 + 68];
        Array.Fill(table, (short)-1);
        for (int b = 0; b < 256; b++) table[ByteToCharTable[b]] = (short)b;
        return table;
    }
}
