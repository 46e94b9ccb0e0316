using System.Numerics;
using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

/// <summary>
/// y[rows, ld] (column slice of width m) = x[rows, k] · W[m, k]ᵀ through cuBLASLt with bf16 inputs and F32
/// accumulation. In cuBLASLt's column-major terms that is D (m × n, leading dimension ld) = Aᵀ·B with A = W
/// seen as k × m and B = x seen as k × n. Descriptors and the algorithm are made once per shape and reused, so
/// a steady-state call allocates nothing. With <see cref="Autotune"/>, a shape of at most <see cref="AutotuneMaxRows"/>
/// rows first times the heuristic's top <see cref="AutotuneCandidates"/> algorithms on the call's own operands and
/// keeps the fastest: at decode's skinny shapes the heuristic's first pick is not always the fastest.
/// </summary>
internal sealed unsafe class CublasLtGemm : IDisposable
{
    private const long WorkspaceBytes = 32L << 20;

    /// <summary>The most activation rows (n) a shape is autotuned at; larger ones are compute-bound and vary per prompt.</summary>
    public const int AutotuneMaxRows = 128;

    /// <summary>Algorithms asked of the heuristic and timed per autotuned shape.</summary>
    public const int AutotuneCandidates = 16;

    private const int AutotuneRuns = 20;

    /// <summary>How much faster than the heuristic's first pick a candidate must time to replace it.</summary>
    public const double AutotuneMinGain = 0.03;

    private readonly CudaDevice _device;
    private readonly CudaBuffer _workspace;
    private readonly Dictionary<PlanKey, Plan> _plans = [];
    private readonly List<GemmTuneRecord> _tuneRecords = [];
    private nint _handle;

    public CublasLtGemm(CudaDevice device)
    {
        _device = device;
        nint handle;
        CublasLt.Check(CublasLt.cublasLtCreate(&handle), "cublasLtCreate");
        _handle = handle;
        _workspace = CudaBuffer.Allocate(device, WorkspaceBytes);
    }

    /// <summary>Autotune shapes of at most <see cref="AutotuneMaxRows"/> rows (off by default; HEARTH_CUDA_GEMM_AUTOTUNE=1).</summary>
    public bool Autotune { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_GEMM_AUTOTUNE") == "1";

    public IReadOnlyList<GemmTuneRecord> TuneRecords => _tuneRecords;

    public static string Version => CublasLt.cublasLtGetVersion().ToString(System.Globalization.CultureInfo.InvariantCulture);

    public void Run(nint weight, nint input, nint output, int m, int n, int k, long ldOutput, bool outputF32)
    {
        if (m == 0 || n == 0) return;
        bool tune = Autotune && n <= AutotuneMaxRows;
        var key = new PlanKey(m, n, k, ldOutput, outputF32, Alignment(weight), Alignment(input), Alignment(output), tune);
        if (!_plans.TryGetValue(key, out var plan))
        {
            // Timing synchronizes the stream, which a capture forbids: a shape first met inside one keeps the heuristic's pick.
            bool timed = tune && !IsCapturing();
            plan = CreatePlan(key, timed ? AutotuneCandidates : 1);
            if (timed) PickFastest(plan, key, weight, input, output);
            _plans.Add(key, plan);
        }
        Check(Matmul(plan, plan.Candidates[plan.Chosen], weight, input, output), "cublasLtMatmul");
    }

    private int Matmul(Plan plan, in CublasLt.HeuristicResult algorithm, nint weight, nint input, nint output)
    {
        float alpha = 1f, beta = 0f;
        fixed (CublasLt.HeuristicResult* heuristic = &algorithm)
            return CublasLt.cublasLtMatmul(_handle, plan.Desc, &alpha, weight, plan.A, input, plan.B, &beta,
                output, plan.D, output, plan.D, heuristic->Algo, _workspace.Data, heuristic->WorkspaceSizeBytes, _device.Stream);
    }

    private static void Check(int status, string call) => CublasLt.Check(status, call);

    private bool IsCapturing()
    {
        int status;
        CuDriver.Check(CuDriver.cuStreamIsCapturing(_device.Stream, &status), "cuStreamIsCapturing");
        return status != CuDriver.StreamCaptureStatusNone;
    }

    /// <summary>
    /// Runs every candidate once (module loads, split-K setup), then times <see cref="AutotuneRuns"/> back-to-back
    /// runs of each, twice over in alternation, and keeps each one's faster pass: with the stream kept busy the host's
    /// launch cost hides behind the GPU, so the time is the GPU's. Another candidate replaces the heuristic's pick only
    /// when <see cref="AutotuneMinGain"/> faster: three-run timings that picked noise cost 4 % at q|k|v and gate|up
    /// (H100, session 6). A candidate the library refuses at run time is skipped.
    /// </summary>
    private void PickFastest(Plan plan, PlanKey key, nint weight, nint input, nint output)
    {
        var seconds = new double[plan.Candidates.Length];
        for (int c = 0; c < plan.Candidates.Length; c++)
            seconds[c] = Matmul(plan, plan.Candidates[c], weight, input, output) == 0 ? double.PositiveInfinity : double.NaN;
        for (int pass = 0; pass < 2; pass++)
            for (int c = 0; c < plan.Candidates.Length; c++)
            {
                if (double.IsNaN(seconds[c])) continue;
                _device.Synchronize();
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                for (int run = 0; run < AutotuneRuns; run++)
                    Matmul(plan, plan.Candidates[c], weight, input, output);
                _device.Synchronize();
                seconds[c] = Math.Min(seconds[c], System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds / AutotuneRuns);
            }
        int best = 0;
        for (int c = 1; c < seconds.Length; c++)
            if (seconds[c] < seconds[best]) best = c;
        if (!(seconds[best] < seconds[0] * (1 - AutotuneMinGain))) best = 0;
        plan.Chosen = best;
        _tuneRecords.Add(new GemmTuneRecord(key.N, key.M, key.K, seconds.Length, best, seconds[0], seconds[best]));
    }

    private Plan CreatePlan(PlanKey key, int candidates)
    {
        var plan = new Plan();
        nint desc, a, b, d, preference;
        CublasLt.Check(CublasLt.cublasLtMatmulDescCreate(&desc, CublasLt.ComputeType32F, CublasLt.CudaR32F), "cublasLtMatmulDescCreate");
        plan.Desc = desc;
        int transA = CublasLt.OpT, transB = CublasLt.OpN;
        CublasLt.Check(CublasLt.cublasLtMatmulDescSetAttribute(desc, CublasLt.DescTransA, &transA, sizeof(int)), "cublasLtMatmulDescSetAttribute(TRANSA)");
        CublasLt.Check(CublasLt.cublasLtMatmulDescSetAttribute(desc, CublasLt.DescTransB, &transB, sizeof(int)), "cublasLtMatmulDescSetAttribute(TRANSB)");
        CublasLt.Check(CublasLt.cublasLtMatrixLayoutCreate(&a, CublasLt.CudaR16BF, (ulong)key.K, (ulong)key.M, key.K), "cublasLtMatrixLayoutCreate(A)");
        plan.A = a;
        CublasLt.Check(CublasLt.cublasLtMatrixLayoutCreate(&b, CublasLt.CudaR16BF, (ulong)key.K, (ulong)key.N, key.K), "cublasLtMatrixLayoutCreate(B)");
        plan.B = b;
        int outputType = key.OutputF32 ? CublasLt.CudaR32F : CublasLt.CudaR16BF;
        CublasLt.Check(CublasLt.cublasLtMatrixLayoutCreate(&d, outputType, (ulong)key.M, (ulong)key.N, key.LdOutput), "cublasLtMatrixLayoutCreate(D)");
        plan.D = d;

        CublasLt.Check(CublasLt.cublasLtMatmulPreferenceCreate(&preference), "cublasLtMatmulPreferenceCreate");
        try
        {
            ulong workspace = WorkspaceBytes;
            CublasLt.Check(CublasLt.cublasLtMatmulPreferenceSetAttribute(preference, CublasLt.PrefMaxWorkspaceBytes, &workspace, sizeof(ulong)),
                "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
            // The heuristic assumes 256-byte aligned pointers unless told otherwise; column slices of fused outputs are not.
            uint alignA = key.AlignA, alignB = key.AlignB, alignD = key.AlignD;
            CublasLt.Check(CublasLt.cublasLtMatmulPreferenceSetAttribute(preference, CublasLt.PrefMinAlignmentA, &alignA, sizeof(uint)), "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_A)");
            CublasLt.Check(CublasLt.cublasLtMatmulPreferenceSetAttribute(preference, CublasLt.PrefMinAlignmentB, &alignB, sizeof(uint)), "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_B)");
            CublasLt.Check(CublasLt.cublasLtMatmulPreferenceSetAttribute(preference, CublasLt.PrefMinAlignmentC, &alignD, sizeof(uint)), "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_C)");
            CublasLt.Check(CublasLt.cublasLtMatmulPreferenceSetAttribute(preference, CublasLt.PrefMinAlignmentD, &alignD, sizeof(uint)), "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_D)");
            int returned = 0;
            var results = new CublasLt.HeuristicResult[candidates];
            fixed (CublasLt.HeuristicResult* heuristic = results)
                CublasLt.Check(CublasLt.cublasLtMatmulAlgoGetHeuristic(_handle, desc, a, b, d, d, preference, candidates, heuristic, &returned),
                    "cublasLtMatmulAlgoGetHeuristic");
            plan.Candidates = results[..returned];
            if (returned == 0)
                throw new HearthException($"cuBLASLt has no algorithm for bf16 [{key.N}, {key.K}] x [{key.M}, {key.K}]^T -> {(key.OutputF32 ? "f32" : "bf16")} (ld {key.LdOutput})");
        }
        finally
        {
            CublasLt.cublasLtMatmulPreferenceDestroy(preference);
        }
        return plan;
    }

    private static uint Alignment(nint pointer) => pointer == 0 ? 256u : (uint)Math.Min(256, 1L << BitOperations.TrailingZeroCount((long)pointer));

    public void Dispose()
    {
        if (_handle == 0) return;
        _device.MakeCurrent();
        foreach (var plan in _plans.Values)
        {
            CublasLt.cublasLtMatrixLayoutDestroy(plan.A);
            CublasLt.cublasLtMatrixLayoutDestroy(plan.B);
            CublasLt.cublasLtMatrixLayoutDestroy(plan.D);
            CublasLt.cublasLtMatmulDescDestroy(plan.Desc);
        }
        _plans.Clear();
        _workspace.Dispose();
        CublasLt.cublasLtDestroy(_handle);
        _handle = 0;
    }

    private readonly record struct PlanKey(int M, int N, int K, long LdOutput, bool OutputF32, uint AlignA, uint AlignB, uint AlignD, bool Tuned);

    private sealed class Plan
    {
        public nint Desc, A, B, D;
        public CublasLt.HeuristicResult[] Candidates = [];
        public int Chosen;
    }
}
