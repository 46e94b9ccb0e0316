using System.Numerics;
using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

/// <summary>
/// y[rows, ld] (column slice of width m) = x[rows, k] · W[m, k]ᵀ through cuBLASLt with bf16 inputs and F32
/// accumulation. In cuBLASLt's column-major terms that is D (m × n, leading dimension ld) = Aᵀ·B with A = W
/// seen as k × m and B = x seen as k × n. Descriptors and the heuristic's algorithm are made once per
/// shape and reused, so a steady-state call allocates nothing.
/// </summary>
internal sealed unsafe class CublasLtGemm : IDisposable
{
    private const long WorkspaceBytes = 32L << 20;

    private readonly CudaDevice _device;
    private readonly CudaBuffer _workspace;
    private readonly Dictionary<PlanKey, Plan> _plans = [];
    private nint _handle;

    public CublasLtGemm(CudaDevice device)
    {
        _device = device;
        nint handle;
        CublasLt.Check(CublasLt.cublasLtCreate(&handle), "cublasLtCreate");
        _handle = handle;
        _workspace = CudaBuffer.Allocate(device, WorkspaceBytes);
    }

    public static string Version => CublasLt.cublasLtGetVersion().ToString(System.Globalization.CultureInfo.InvariantCulture);

    public void Run(nint weight, nint input, nint output, int m, int n, int k, long ldOutput, bool outputF32)
    {
        if (m == 0 || n == 0) return;
        var key = new PlanKey(m, n, k, ldOutput, outputF32, Alignment(weight), Alignment(input), Alignment(output));
        if (!_plans.TryGetValue(key, out var plan))
        {
            plan = CreatePlan(key);
            _plans.Add(key, plan);
        }
        float alpha = 1f, beta = 0f;
        fixed (CublasLt.HeuristicResult* heuristic = &plan.Heuristic)
        {
            CublasLt.Check(CublasLt.cublasLtMatmul(_handle, plan.Desc, &alpha, weight, plan.A, input, plan.B, &beta,
                output, plan.D, output, plan.D, heuristic->Algo, _workspace.Data, heuristic->WorkspaceSizeBytes, _device.Stream),
                "cublasLtMatmul");
        }
    }

    private Plan CreatePlan(PlanKey key)
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
            fixed (CublasLt.HeuristicResult* heuristic = &plan.Heuristic)
                CublasLt.Check(CublasLt.cublasLtMatmulAlgoGetHeuristic(_handle, desc, a, b, d, d, preference, 1, heuristic, &returned),
                    "cublasLtMatmulAlgoGetHeuristic");
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

    private readonly record struct PlanKey(int M, int N, int K, long LdOutput, bool OutputF32, uint AlignA, uint AlignB, uint AlignD);

    private sealed class Plan
    {
        public nint Desc, A, B, D;
        public CublasLt.HeuristicResult Heuristic;
    }
}
