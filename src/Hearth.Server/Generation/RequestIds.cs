using System.Security.Cryptography;

namespace Hearth.Server.Generation;

/// <summary>Random ids for responses and tool calls ("chatcmpl-…", "call_…").</summary>
internal static class RequestIds
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    public static string New(string prefix, int length = 24) => prefix + RandomNumberGenerator.GetString(Alphabet, length);
}
