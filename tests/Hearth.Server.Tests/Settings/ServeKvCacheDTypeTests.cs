using Hearth.Core;
using Hearth.Server.Hosting;
using Hearth.Testing;

namespace Hearth.Server.Tests.Settings;

/// <summary>`hearth serve --kv-cache-dtype`: checked with the other settings, before anything is loaded.</summary>
public class ServeKvCacheDTypeTests
{
    [Theory]
    [InlineData("auto")]
    [InlineData("bf16")]
    [InlineData("fp8")]
    public void The_vllm_kv_cache_dtypes_are_accepted(string value) =>
        new ServeSettings { ModelDirectory = RepoPaths.Parrot, KvCacheDType = value }.Validate();

    [Fact]
    public void An_unknown_kv_cache_dtype_is_rejected_before_loading()
    {
        var e = Assert.Throws<HearthException>(() => new ServeSettings { ModelDirectory = RepoPaths.Parrot, KvCacheDType = "fp4" }.Validate());
        Assert.Equal("--kv-cache-dtype must be auto, bf16 or fp8, not 'fp4'", e.Message);
    }
}
