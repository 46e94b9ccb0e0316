using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Hearth.Backends.Gguf;
using Hearth.Models.Gguf;
using Hearth.Testing;

namespace Hearth.Models.Tests.Gguf;

/// <summary>
/// tests/goldens/gguf/reference.gguf was written by tools/gguf_reference.py (NumPy, from the GGUF spec), with each
/// quantized tensor's dequantization beside it; Hearth must read the file and decode every block identically.
/// </summary>
public sealed class GgufReferenceTests
{
    private static string GoldenPath(string name) => Path.Combine(RepoPaths.RepoRoot, "tests", "goldens", "gguf", name);

    [Theory]
    [InlineData("f16", GgufTensorType.F16)]
    [InlineData("bf16", GgufTensorType.BF16)]
    [InlineData("q8_0", GgufTensorType.Q8_0)]
    [InlineData("q4_0", GgufTensorType.Q4_0)]
    [InlineData("q4_k", GgufTensorType.Q4_K)]
    [InlineData("q5_k", GgufTensorType.Q5_K)]
    [InlineData("q6_k", GgufTensorType.Q6_K)]
    public void Dequantization_matches_numpy_reference(string name, GgufTensorType type)
    {
        using var file = GgufFile.Open(GoldenPath("reference.gguf"));
        var info = file.GetInfo(name);
        Assert.Equal(type, info.Type);
        var expectedInfo = file.GetInfo(name + ".expected");
        Assert.Equal(expectedInfo.Shape, info.Shape);
        var expected = MemoryMarshal.Cast<byte, float>(file.GetBytes(expectedInfo));
        var actual = new float[info.NumElements];
        GgufBlockCodec.Dequantize(type, file.GetBytes(info), actual);
        int mismatches = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            float tolerance = 1e-6f * MathF.Max(1, MathF.Abs(expected[i]));
            if (MathF.Abs(actual[i] - expected[i]) > tolerance) mismatches++;
        }
        Assert.True(mismatches == 0, $"{mismatches} of {actual.Length} {type} values differ from the NumPy reference");
        Assert.Contains(expected.ToArray(), v => v != 0);
    }

    [Fact]
    public void Reads_every_metadata_value_type_and_the_alignment()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(GoldenPath("reference.json")));
        using var file = GgufFile.Open(GoldenPath("reference.gguf"));
        Assert.Equal(3u, file.Version);
        Assert.Equal(json.RootElement.GetProperty("alignment").GetInt32(), file.AlignmentBytes);
        Assert.Equal(0, file.DataOffsetBytes % file.AlignmentBytes);
        foreach (var entry in json.RootElement.GetProperty("metadata").EnumerateObject())
        {
            var value = file.GetMetadata(entry.Name);
            Assert.Equal((GgufValueType)entry.Value.GetProperty("type").GetInt32(), value.Type);
            Assert.Equal(Render(entry.Value.GetProperty("value")), Render(value.Value));
        }
    }

    private static string Render(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => "[" + string.Join(",", e.EnumerateArray().Select(Render)) + "]",
        JsonValueKind.True => "True",
        JsonValueKind.False => "False",
        JsonValueKind.String => e.GetString()!,
        _ => e.GetRawText().Contains('.', StringComparison.Ordinal)
            ? e.GetDouble().ToString(CultureInfo.InvariantCulture) : e.GetRawText(),
    };

    private static string Render(object value) => value switch
    {
        GgufValue nested => Render(nested.Value),
        string s => s,
        System.Collections.IEnumerable list => "[" + string.Join(",", list.Cast<object>().Select(Render)) + "]",
        float f => ((double)f).ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
    };
}
