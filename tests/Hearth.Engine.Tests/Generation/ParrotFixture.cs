using Hearth.Backends.Cpu;
using Hearth.Engine.Loading;
using Hearth.Testing;

namespace Hearth.Engine.Tests.Generation;

/// <summary>The parrot model loaded once on the CPU backend for all tests of a class.</summary>
public sealed class ParrotFixture : IDisposable
{
    public ParrotFixture()
    {
        Backend = new CpuBackend();
        Model = ModelLoader.Load(RepoPaths.Parrot, Backend, maxTokensPerStep: 64, maxLogitRows: 64);
    }

    public CpuBackend Backend { get; }

    public LoadedModel Model { get; }

    public void Dispose()
    {
        Model.Dispose();
        Backend.Dispose();
    }
}
