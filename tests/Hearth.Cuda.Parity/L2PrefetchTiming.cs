using Hearth.Backends;
using Hearth.Backends.Cuda;

namespace Hearth.Cuda.Parity;

/// <summary>
/// The L2 prefetch A/B (--l2-prefetch-timing, session 10): the whole batch-1 14B decode step of
/// <see cref="StepAblationTiming"/> (Qwen3Model's order and hints, int4 and fp8, context 512, graph replay) under each
/// prefetch setting, all settings in one process and the list run twice, so machine drift shows between the rounds.
/// Then what the o projection costs inside the step (the step without o subtracted), prefetch off against on.
/// </summary>
internal static class L2PrefetchTiming
{
    private const int Replays = 20;

    private readonly record struct Setting(string Label, L2PrefetchSites Sites, double OMegabytes, double PrefixMegabytes, int NormBlocks)
    {
        /// <summary>The same setting for the engine (tools/gpu/l2w_run.sh benches the best one against off).</summary>
        public string Environment => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"HEARTH_CUDA_L2_PREFETCH={(int)Sites},HEARTH_CUDA_L2_PREFETCH_O_MB={OMegabytes},HEARTH_CUDA_L2_PREFETCH_MB={PrefixMegabytes},HEARTH_CUDA_L2_PREFETCH_BLOCKS={NormBlocks}");
    }

    // Session 10's first call timed the whole o from the attention or RoPE, norms pulling 4/8/16 MB with 0/8/32
    // extra blocks and their combinations (docs/performance/cuda.md); none won. This list is its second call's: less
    // of o, so that the attention's K/V loads queue behind fewer prefetched bytes, and a small norm prefix.
    private static readonly Setting[] Settings =
    [
        new("off", L2PrefetchSites.None, 32, 8, 8),
        new("attention pulls o", L2PrefetchSites.Attention, 32, 8, 8),
        new("attention pulls 8 MB of o", L2PrefetchSites.Attention, 8, 8, 8),
        new("attention pulls 4 MB of o", L2PrefetchSites.Attention, 4, 8, 8),
        new("attention pulls 2 MB of o", L2PrefetchSites.Attention, 2, 8, 8),
        new("norms pull 2 MB", L2PrefetchSites.Norms, 32, 2, 8),
        new("attention 4 MB of o + norms 2 MB", L2PrefetchSites.Attention | L2PrefetchSites.Norms, 4, 2, 8),
    ];

    public static void Run(CudaBackend cuda)
    {
        var saved = (cuda.L2PrefetchSites, cuda.L2PrefetchWholeMaxBytes, cuda.L2PrefetchPrefixBytes, cuda.L2PrefetchNormBlocks);
        Console.WriteLine($"L2 prefetch timing (14B shape, batch 1, context 512, PDL {(cuda.UseProgrammaticLaunch ? "on" : "off")}, graph replay, "
            + $"ms a step; o = step minus the step without o, us a layer):");
        var totals = new double[Settings.Length];
        var random = new Random(23);
        var hostBlocks = new List<nint>();
        try
        {
            foreach (var (name, make) in new (string, Func<int, int, QuantizedMatrix>)[]
            {
                ("awq-int4", (n, k) => QuantTiming.Int4(n, k, random, hostBlocks)),
                ("fp8", (n, k) => QuantTiming.Fp8(n, k, random, hostBlocks)),
            })
            {
                const int H = StepAblationTiming.Hidden, Q = StepAblationTiming.Heads * StepAblationTiming.HeadDim;
                const int Kv = StepAblationTiming.KvHeads * StepAblationTiming.HeadDim, I = StepAblationTiming.Inter;
                LinearWeight[] layer =
                [
                    QuantTiming.Fused(cuda, make(Q, H), make(Kv, H), make(Kv, H)),
                    QuantTiming.Fused(cuda, make(H, Q)),
                    QuantTiming.Fused(cuda, make(I, H), make(I, H)),
                    QuantTiming.Fused(cuda, make(H, I)),
                ];
                QuantTiming.FreeHost(hostBlocks);
                for (int round = 1; round <= 2; round++)
                    for (int i = 0; i < Settings.Length; i++)
                    {
                        var setting = Settings[i];
                        Apply(cuda, setting);
                        double ms = Time(cuda, layer, StepAblationTiming.Ops.All) * 1e3;
                        totals[i] += ms;
                        Console.WriteLine($"  {name,-9} round {round}  {setting.Label,-36} {ms,7:F3} ms");
                    }
                for (int round = 1; round <= 2; round++)
                    foreach (var setting in new[] { Settings[0], Settings[1], Settings[3] })
                    {
                        Apply(cuda, setting);
                        double full = Time(cuda, layer, StepAblationTiming.Ops.All);
                        double withoutO = Time(cuda, layer, StepAblationTiming.Ops.All | StepAblationTiming.Ops.WithoutO);
                        Console.WriteLine($"  {name,-9} round {round}  o in the step, {setting.Label,-26} {(full - withoutO) * 1e6 / StepAblationTiming.Layers,6:F2} us a layer"
                            + $"  (step {full * 1e3:F3}, without o {withoutO * 1e3:F3} ms)");
                    }
            }
            int best = Array.IndexOf(totals, totals.Min());
            Console.WriteLine($"  mean of both formats and rounds: {string.Join(", ", Settings.Select((x, i) => $"{x.Label} {totals[i] / 4:F3}"))} ms");
            Console.WriteLine($"best setting: {Settings[best].Environment}");
        }
        finally
        {
            QuantTiming.FreeHost(hostBlocks);
            (cuda.L2PrefetchSites, cuda.L2PrefetchWholeMaxBytes, cuda.L2PrefetchPrefixBytes, cuda.L2PrefetchNormBlocks) = saved;
        }
    }

    private static void Apply(CudaBackend cuda, Setting setting)
    {
        cuda.L2PrefetchSites = setting.Sites;
        cuda.L2PrefetchWholeMaxBytes = (long)(setting.OMegabytes * (1 << 20));
        cuda.L2PrefetchPrefixBytes = (long)(setting.PrefixMegabytes * (1 << 20));
        cuda.L2PrefetchNormBlocks = setting.NormBlocks;
    }

    private static double Time(CudaBackend cuda, LinearWeight[] layer, StepAblationTiming.Ops ops)
    {
        using var memory = new BackendPair(cuda, cuda);
        return GraphTiming.SecondsPerReplay(cuda, StepAblationTiming.BuildStep(cuda, memory, layer, ops, hints: true), Replays);
    }
}
