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
    public void DeviceCudaWithoutAGpuFailsAtOnceNamingWhatIsMissing()
    {
        if (Hearth.Backends.Cuda.CudaBackend.TryCreate(out var cuda, out _))
        {
            cuda!.Dispose();
            return; // this machine has a GPU; the GPU script serves the parrot on it instead
        }
        var ex = Assert.Throws<HearthException>(() => HearthServerHost.Load(new ServeSettings { ModelDirectory = RepoPaths.Parrot, Port = 0, Device = "cuda" }));
        Assert.StartsWith("CUDA is unavailable", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void AnUnknownDeviceOrMemoryShareIsRefusedBeforeLoading()
    {
        var ok = new ServeSettings { ModelDirectory = RepoPaths.Parrot };
        ok.Validate();
        (ok with { Device = "CUDA" }).Validate();
        Assert.Contains("--device", Assert.Throws<HearthException>(() => (ok with { Device = "tpu" }).Validate()).Message);
        Assert.Contains("--gpu-memory-utilization", Assert.Throws<HearthException>(() => (ok with { GpuMemoryUtilization = 1.5 }).Validate()).Message);
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
