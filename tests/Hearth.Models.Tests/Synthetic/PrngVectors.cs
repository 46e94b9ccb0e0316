using System.Globalization;
using System.Text.Json;
using Hearth.Testing;

namespace Hearth.Models.Tests.Synthetic;

/// <summary>tests/goldens/prng-vectors.json, written by tools/make_prng_vectors.py (pure Python).</summary>
internal static class PrngVectors
{
    private static readonly Lazy<JsonElement> Root = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.RepoRoot, "tests", "goldens", "prng-vectors.json"))).RootElement);

    public static JsonElement Document => Root.Value;

    public static IEnumerable<JsonElement> Items(string key) => Document.GetProperty(key).EnumerateArray();

    public static JsonElement Shape(string name) => Items("shapes").Single(s => s.GetProperty("name").GetString() == name);

    public static ulong Hex64(JsonElement e) => ulong.Parse(e.GetString()!.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    public static uint Hex32(JsonElement e) => uint.Parse(e.GetString()!.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    public static ushort[] Bf16(JsonElement array) => array.EnumerateArray().Select(v => (ushort)v.GetInt32()).ToArray();
}
