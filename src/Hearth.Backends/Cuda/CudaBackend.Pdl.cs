namespace Hearth.Backends.Cuda;

// Programmatic dependent launch: the decode step's short kernels start while their predecessor drains.
public sealed partial class CudaBackend
{
    /// <summary>
    /// Launches the kernels written for it (<see cref="ProgrammaticLaunchKernels"/>) with programmatic stream
    /// serialization, so each can be resident, and prefetch its weights, while the previous kernel finishes. On by
    /// default on sm_90+ (HEARTH_CUDA_PDL=0 turns it off); setting it on an older GPU leaves it off. Graphs keep
    /// the setting they were captured with.
    /// </summary>
    public bool UseProgrammaticLaunch
    {
        get => _device.UseProgrammaticLaunch;
        set => _device.UseProgrammaticLaunch = value && _device.SupportsProgrammaticLaunch;
    }

    private void LoadProgrammaticLaunchKernels()
    {
        foreach (var (_, kernels) in ProgrammaticLaunchKernels.ByModule)
            foreach (string kernel in kernels) _device.MarkProgrammatic(Function(kernel));
        _device.UseProgrammaticLaunch = ProgrammaticLaunchKernels.IsEnabled(_device.ComputeMajor, Environment.GetEnvironmentVariable("HEARTH_CUDA_PDL"));
    }
}
