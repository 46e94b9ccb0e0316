using Hearth.Core;
using Hearth.Server.Hosting;
using Hearth.Testing;

namespace Hearth.Server.Tests.Http;

public sealed class ServeSettingsTests
{
    [Fact]
    public void TheServedNameDefaultsToTheModelFolderName()
    {
        Assert.Equal("parrot-qwen3", new ServeSettings { ModelDirectory = RepoPaths.Parrot + Path.DirectorySeparatorChar }.ResolvedModelName);
        Assert.Equal("mine", new ServeSettings { ModelDirectory = RepoPaths.Parrot, ServedModelName = "mine" }.ResolvedModelName);
    }

    [Fact]
    public void DeviceAutoPicksTheCpuAndCudaFailsWithTheReason()
    {
        Assert.Equal("cpu", DeviceSelector.Resolve("auto"));
        Assert.Equal("cpu", DeviceSelector.Resolve("CPU"));
        var ex = Assert.Throws<HearthException>(() => DeviceSelector.Resolve("cuda"));
        Assert.Contains("no CUDA backend", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Throws<HearthException>(() => DeviceSelector.Resolve("tpu"));
    }

    [Theory]
    [InlineData(-1, 64, 256, null, "--port")]
    [InlineData(8000, 0, 256, null, "--max-num-seqs")]
    [InlineData(8000, 64, -1, null, "--max-queue")]
    [InlineData(8000, 64, 256, 1, "--max-model-len")]
    public void BadSettingsNameTheOption(int port, int maxNumSeqs, int maxQueue, int? maxModelLen, string option)
    {
        var settings = new ServeSettings { ModelDirectory = RepoPaths.Parrot, Port = port, MaxNumSeqs = maxNumSeqs, MaxQueue = maxQueue, MaxModelLen = maxModelLen };
        Assert.StartsWith(option, Assert.Throws<HearthException>(settings.Validate).Message);
    }

    [Fact]
    public void AMissingModelFolderIsReported()
    {
        var ex = Assert.Throws<HearthException>(new ServeSettings { ModelDirectory = "/no/such/model" }.Validate);
        Assert.Contains("/no/such/model", ex.Message);
    }
}
