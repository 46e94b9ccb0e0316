using Hearth.Backends.Cpu;
using Hearth.Backends.Cuda;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Engine.Loading;

namespace Hearth.Engine.Tests.Loading;

/// <summary>--device auto|cpu|cuda and the GPU KV budget, as the CLI and the server use them.</summary>
public class BackendFactoryTests
{
    [Fact]
    public void Cpu_gives_the_cpu_backend_without_a_warning()
    {
        using var backend = BackendFactory.Create("cpu", out string? warning, cpuThreads: 1);
        Assert.IsType<CpuBackend>(backend);
        Assert.Null(warning);
    }

    [Fact]
    public void Auto_falls_back_to_the_cpu_with_the_reason_as_a_warning_when_cuda_is_unusable()
    {
        bool gpu = CudaBackend.TryCreate(out var cuda, out string whyNot);
        cuda?.Dispose();
        using var backend = BackendFactory.Create("auto", out string? warning, cpuThreads: 1);
        if (gpu)
        {
            Assert.Equal("cuda", backend.Name);
            Assert.Null(warning);
            return;
        }
        Assert.IsType<CpuBackend>(backend);
        Assert.Equal(whyNot + "; running on the CPU", warning);
        Assert.StartsWith("CUDA is unavailable: ", warning);
        Assert.NotNull(warning);
        Assert.DoesNotContain('\n', warning);
    }

    [Fact]
    public void Cuda_without_a_usable_gpu_throws_the_one_line_reason()
    {
        if (CudaBackend.TryCreate(out var cuda, out string whyNot))
        {
            cuda!.Dispose();
            return;
        }
        var e = Assert.Throws<HearthException>(() => BackendFactory.Create("cuda", out _));
        Assert.Equal(whyNot, e.Message);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("")]
    [InlineData("cuda:1")]
    public void An_unknown_device_is_a_clear_error(string device)
    {
        var e = Assert.Throws<HearthException>(() => BackendFactory.Create(device, out _));
        Assert.Equal($"--device must be auto, cpu or cuda, not '{device}'", e.Message);
    }

    [Fact]
    public void Device_names_ignore_case_and_spaces()
    {
        using var backend = BackendFactory.Create(" CPU ", out _, cpuThreads: 1);
        Assert.IsType<CpuBackend>(backend);
    }

    [Fact]
    public void The_cpu_has_no_gpu_budget_and_keeps_its_options()
    {
        using var backend = new CpuBackend(1);
        Assert.Null(BackendFactory.KvCacheBudgetBytes(backend, 0.9));
        var options = new EngineOptions { MaxNumSeqs = 3 };
        var config = Hearth.Models.Config.ModelConfigParser.Parse("""{"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 1000, "max_position_embeddings": 256}""");
        Assert.Same(options, BackendFactory.WithKvCacheBudget(options, backend, config, 0.9));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(1.01)]
    public void A_gpu_memory_utilization_outside_zero_to_one_is_rejected(double utilization)
    {
        using var backend = new CpuBackend(1);
        var e = Assert.Throws<HearthException>(() => BackendFactory.KvCacheBudgetBytes(backend, utilization));
        Assert.Contains("--gpu-memory-utilization must be in (0, 1]", e.Message);
    }
}
