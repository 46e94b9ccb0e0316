using Hearth.Backends.Cuda.Interop;

namespace Hearth.Backends.Cuda;

// Programmatic dependent launch: the decode step's short kernels start while their predecessor drains.
public sealed partial class CudaBackend
{
    private bool _programmaticLaunchEnabled;

    /// <summary>
    /// Launches the kernels written for it (<see cref="ProgrammaticLaunchKernels"/>) with programmatic stream
    /// serialization, so each can be resident, and prefetch its weights, while the previous kernel finishes. On by
    /// default on sm_90+ (HEARTH_CUDA_PDL=0 turns it off); setting it on an older GPU leaves it off. Graphs keep
    /// the setting they were captured with. <see cref="BeginForward"/> narrows it to small steps.
    /// </summary>
    public bool UseProgrammaticLaunch
    {
        get => _device.UseProgrammaticLaunch;
        set => _device.UseProgrammaticLaunch = _programmaticLaunchEnabled = value && _device.SupportsProgrammaticLaunch;
    }

    /// <summary>
    /// The most token rows a forward pass may have and still launch with PDL (HEARTH_CUDA_PDL_MAX_ROWS; default 4,
    /// the rows the bf16 GEMV takes). Measured on the H100 (Qwen3-14B shape, random weights, engine steps): PDL wins
    /// at batch 1 (bf16 10.47 against 10.59 ms) but loses from batch 8 up (awq-int4 batch 8 5.87 against 5.75 ms,
    /// batch 32 15.53 against 15.14; bf16 batch 8 even, batch 32 13.13 against 12.99): larger steps' blocks wait
    /// resident for their predecessor and hold SM slots that the predecessor's later blocks would use.
    /// </summary>
    public int ProgrammaticLaunchMaxRows { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("HEARTH_CUDA_PDL_MAX_ROWS"), out int rows) ? rows : 4;

    /// <summary>Called before a forward pass of <paramref name="rows"/> token rows is enqueued or captured: sets PDL for it.</summary>
    public void BeginForward(int rows) =>
        _device.UseProgrammaticLaunch = _programmaticLaunchEnabled && rows <= ProgrammaticLaunchMaxRows;

    private void LoadProgrammaticLaunchKernels()
    {
        foreach (var (_, kernels) in ProgrammaticLaunchKernels.ByModule)
            foreach (string kernel in kernels) _device.MarkProgrammatic(Function(kernel));
        UseProgrammaticLaunch = ProgrammaticLaunchKernels.IsEnabled(_device.ComputeMajor, Environment.GetEnvironmentVariable("HEARTH_CUDA_PDL"));
    }

    /// <summary>
    /// The cluster scheduling policy of clustered launches (HEARTH_CUDA_CLUSTER_POLICY: 0 the driver's default, 1 spread,
    /// 2 load balancing), for A/B runs.
    /// </summary>
    public int ClusterSchedulingPolicy { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("HEARTH_CUDA_CLUSTER_POLICY"), out int policy) && policy is >= 0 and <= 2 ? policy : 0;

    /// <summary>
    /// Launches <paramref name="function"/> in thread-block clusters of <paramref name="clusterZ"/> blocks along z
    /// (sm_90+; gridZ a multiple of it), with programmatic stream serialization when PDL is on for this pass (the
    /// clustered kernels are PDL kernels).
    /// </summary>
    private unsafe void LaunchCluster(nint function, uint gridX, uint gridY, uint gridZ, uint threads, uint sharedBytes, void** args, uint clusterZ)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _device.MakeCurrent();
        var attributes = stackalloc CuDriver.LaunchAttribute[3];
        attributes[0] = CuDriver.ClusterDimension((int)clusterZ);
        attributes[1] = default;
        attributes[1].Id = CuDriver.LaunchAttributeClusterSchedulingPolicy;
        attributes[1].ValueInt = ClusterSchedulingPolicy;
        attributes[2] = default;
        attributes[2].Id = CuDriver.LaunchAttributeProgrammaticStreamSerialization;
        attributes[2].ValueInt = 1;
        var config = new CuDriver.LaunchConfig
        {
            GridDimX = gridX, GridDimY = gridY, GridDimZ = gridZ,
            BlockDimX = threads, BlockDimY = 1, BlockDimZ = 1,
            SharedMemBytes = sharedBytes, Stream = _device.Stream, Attributes = attributes,
            NumAttributes = _device.UseProgrammaticLaunch ? 3u : 2u,
        };
        CuDriver.Check(CuDriver.cuLaunchKernelEx(&config, function, args, null), "cuLaunchKernelEx (cluster)");
    }
}
