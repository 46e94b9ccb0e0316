using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Backends.Tests.Cuda;

/// <summary>
/// CI machines have no GPU: the CUDA backend must then decline in one clear line (so "--device auto" can
/// fall back to the CPU with a warning) instead of crashing on a missing native library.
/// </summary>
public class CudaAvailabilityTests
{
    [Fact]
    public void TryCreate_without_a_usable_gpu_fails_with_one_line_naming_what_is_missing()
    {
        bool created = CudaBackend.TryCreate(out var backend, out string whyNot);
        if (created)
        {
            // Only reached on a machine with a GPU and the toolkit: then the backend must be usable.
            using (backend) Assert.Equal("cuda", backend!.Name);
            return;
        }
        Assert.Null(backend);
        Assert.StartsWith("CUDA is unavailable: ", whyNot, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', whyNot);
        bool namesAComponent = whyNot.Contains("libcuda.so.1", StringComparison.Ordinal)
            || whyNot.Contains("no GPU", StringComparison.Ordinal)
            || whyNot.Contains("NVRTC", StringComparison.Ordinal)
            || whyNot.Contains("cuBLASLt", StringComparison.Ordinal);
        Assert.True(namesAComponent, whyNot);
        if (!File.Exists("/usr/lib/x86_64-linux-gnu/libcuda.so.1") && !File.Exists("/usr/lib64/libcuda.so.1"))
            Assert.Contains("libcuda.so.1", whyNot, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_without_a_usable_gpu_throws_the_same_message_as_a_HearthException()
    {
        if (CudaBackend.TryCreate(out var backend, out string whyNot))
        {
            backend!.Dispose();
            return;
        }
        var error = Assert.Throws<HearthException>(() => CudaBackend.Create());
        Assert.Equal(whyNot, error.Message);
    }

    [Fact]
    public void TryCreate_can_be_asked_repeatedly_and_for_another_ordinal()
    {
        bool first = CudaBackend.TryCreate(out var a, out string whyFirst);
        a?.Dispose();
        bool second = CudaBackend.TryCreate(out var b, out string whySecond);
        b?.Dispose();
        Assert.Equal(first, second);
        Assert.Equal(whyFirst, whySecond);
        Assert.False(CudaBackend.TryCreate(out var none, out string whyNot, deviceOrdinal: 4096));
        Assert.Null(none);
        Assert.False(string.IsNullOrWhiteSpace(whyNot));
    }

    [Fact]
    public void Kernel_sources_are_embedded_and_declare_unmangled_kernels()
    {
        var assembly = typeof(CudaBackend).Assembly;
        string[] modules = ["elementwise.cu", "norm.cu", "attention.cu", "common.cu"];
        foreach (string module in modules)
        {
            using var stream = assembly.GetManifestResourceStream("Hearth.Cuda.Kernels." + module);
            Assert.NotNull(stream);
            string source = new StreamReader(stream!).ReadToEnd();
            if (module != "common.cu") Assert.Contains("extern \"C\" __global__", source, StringComparison.Ordinal);
        }
    }
}
