using System.Diagnostics;
using System.Globalization;
using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Cuda.Parity;

// Usage: Hearth.Cuda.Parity [--model DIR [--quant QUANTIZED_DIR]...] [--goldens DIR] [--seed N] [--ops-only] [--reference cpu|naive] [--baseline]
// Runs every backend op on random inputs through CUDA and the CPU backend and compares, then (with
// --model) compares whole-model logits and greedily generates the model's cases.json through CUDA, by this
// runner's own forward pass and through the engine (EngineCore); --goldens DIR adds HF transformers goldens.
// --reference-generate N (with --model) runs no CUDA: it checks this runner's forward pass on the reference alone.
// Prints one line per check, then "N passed, N failed"; exits 1 on any failure, 2 when CUDA is unusable.
string? modelDir = null;
string? goldensDir = null;
int seed = 1234;
bool opsOnly = false;
bool baseline = false;
bool decodeTiming = false;
bool quantTiming = false;
bool att2 = false;
bool pdlTiming = false;
bool gapTiming = false;
bool siluTiming = false;
bool ggufTiming = false;
bool ggufOnly = false;
bool wideTiming = false;
bool q6c = false, q6cTiming = false;
bool k4 = false, k4Timing = false;
bool k4b = false, k4bTiming = false;
bool g6d = false, g6dTiming = false;
bool splitKTiming = false;
bool splitKOnly = false;
bool ablationTiming = false;
bool i4Timing = false, i4Only = false;
bool runAheadOnly = false;
bool i4c = false, i4cShort = false;
bool dcl = false;
bool f8c = false;
var quantDirs = new List<string>();
string referenceName = "naive";
int referenceCases = 0;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--model": modelDir = args[++i]; break;
        case "--goldens": goldensDir = args[++i]; break;
        case "--seed": seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--ops-only": opsOnly = true; break;
        case "--baseline": baseline = true; break;
        case "--decode-timing": decodeTiming = true; break;
        case "--quant-timing": quantTiming = true; break;
        case "--att2": att2 = true; break;
        case "--pdl-timing": pdlTiming = true; break;
        case "--gap-timing": gapTiming = true; break;
        case "--silu-timing": siluTiming = true; break;
        case "--gguf-timing": ggufTiming = true; break;
        case "--gguf-only": ggufOnly = true; break;
        case "--wide-timing": wideTiming = true; break;
        case "--q6c": q6c = true; break;   // session 8: the compact Q6_K checks only (and --q6c-timing)
        case "--q6c-timing": q6cTiming = true; break;
        case "--k4": k4 = true; break;   // session 9: the compact Q4_K checks, --q6c's checks (Q4_K as G4) and (--k4-timing) old against new
        case "--k4-timing": k4Timing = true; break;
        case "--k4b": k4b = true; break;   // session 10: the new K4 decode kernels' checks and the checks they must keep passing
        case "--k4b-timing": k4bTiming = true; break;
        case "--g6d": g6d = true; break;   // session 11: the new G6 / K4 gate|up kernels' checks, then --k4b's
        case "--g6d-timing": g6dTiming = true; break;
        case "--splitk-timing": splitKTiming = true; break;
        case "--splitk-only": splitKOnly = true; break;
        case "--ablation-timing": ablationTiming = true; break;
        case "--f8c": f8c = true; break;   // session 11: F8cChecks, QuantWideChecks, QuantSiluChecks, then F8cTiming
        case "--dcl": dcl = true; break;   // session 10: the cluster decode checks, the tensor-core decode checks, then ClusterDecodeTiming   // session 9: the quantized step without each group of small ops
        case "--i4-timing": i4Timing = true; break;
        case "--i4-only": i4Only = true; break;
        case "--run-ahead": runAheadOnly = true; break;   // session 11: the run-ahead checks only (needs --model)
        case "--i4c": i4c = true; break;
        case "--i4c-short": i4cShort = true; break;   // session 11's last call: I4cChecks on the default mode, then I4cTiming's short order
        case "--quant": quantDirs.Add(args[++i]); break;
        case "--reference": referenceName = args[++i]; break;
        case "--reference-generate": referenceCases = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

// Checks the runner itself without a GPU: greedy-generates the first N cases on the reference backend.
if (referenceCases > 0)
{
    if (modelDir is null) { Console.Error.WriteLine("--reference-generate needs --model"); return 2; }
    var selfReport = new ParityReport();
    using (var reference = ReferenceBackend.Create(referenceName)) ModelChecks.GenerateCases(modelDir, reference, selfReport, referenceCases);
    Console.WriteLine($"{selfReport.NumPassed} passed, {selfReport.NumFailed} failed");
    return selfReport.NumFailed > 0 ? 1 : 0;
}

var startWatch = Stopwatch.StartNew();
if (!CudaBackend.TryCreate(out var cuda, out string whyNot, progress: Console.WriteLine))
{
    Console.Error.WriteLine(whyNot);
    return 2;
}
using (cuda)
{
    double startMs = startWatch.Elapsed.TotalMilliseconds;
    Console.WriteLine($"device: {cuda!.DeviceName} ({cuda.Architecture}), NVRTC {cuda.NvrtcVersion}, cuBLASLt {cuda.CublasLtVersion}");
    Console.WriteLine($"kernel modules: {cuda.NumKernelModulesCompiled} compiled, {cuda.NumKernelModulesFromCache} loaded from cache "
        + $"({cuda.KernelCacheDirectory ?? "no cache directory"}); backend start {startMs:F0} ms");

    Console.WriteLine($"reference backend: {referenceName}");
    var report = new ParityReport();
    if (runAheadOnly && modelDir is not null)
    {
        RunAheadChecks.Run(modelDir, cuda, report);
        Console.WriteLine($"{report.NumPassed} passed, {report.NumFailed} failed");
        return report.NumFailed > 0 ? 1 : 0;
    }
    if (att2)   // session 6: the decode-attention checks and the pipeline / GEMM autotune timings only
    {
        TensorCoreDecodeChecks.Run(cuda, report, new RandomData(seed));
        PipelinedDecodeChecks.Run(cuda, report, new RandomData(seed));
        DecodePipelineTiming.Run(cuda, report, new RandomData(seed));
        Console.WriteLine($"{report.NumPassed} passed, {report.NumFailed} failed");
        return report.NumFailed > 0 ? 1 : 0;
    }
    if (ggufOnly)   // session 7: the GGUF mixed-family and fused-SiLU checks and the Q4_K_M step timing only (tools/gpu/gguf_run.sh quick)
    {
        var ggufRandom = new RandomData(seed);
        bool compactQ6K = cuda.UseCompactQ6K, compactQ4K = cuda.UseCompactQ4K;
        cuda.UseCompactQ6K = false;   // GgufMixChecks checks the G8 mixed kernel; G6Checks the compact layout
        cuda.UseCompactQ4K = false;   // and the G4 ring and g4|g8 mix; K4Checks the compact Q4_K
        using (var ggufMix = new GgufMixChecks(cuda, report, ggufRandom)) ggufMix.RunAll();
        cuda.UseCompactQ6K = compactQ6K;
        cuda.UseCompactQ4K = compactQ4K;
        using (var quantSilu = new QuantSiluChecks(cuda, report, ggufRandom)) quantSilu.RunAll();
        GgufStepTiming.Run(cuda);
        Console.WriteLine($"{report.NumPassed} passed, {report.NumFailed} failed");
        return report.NumFailed > 0 ? 1 : 0;
    }
    if (q6c || k4)   // session 8: the compact Q6_K layout's checks, the G8 mixed checks, then (--q6c-timing) old against new
    {
        bool compactQ4K = cuda.UseCompactQ4K;
        cuda.UseCompactQ4K = false;   // G6Checks' Q4_K parts on G4 (gemv_g4g6_stream); K4Checks covers gemv_k4g6_stream
        using (var g6 = new G6Checks(cuda, report, new RandomData(seed + 8))) g6.RunAll();
        bool compactQ6K = cuda.UseCompactQ6K;
        cuda.UseCompactQ6K = false;
        using (var ggufMix = new GgufMixChecks(cuda, report, new RandomData(seed + 7))) ggufMix.RunAll();
        cuda.UseCompactQ6K = compactQ6K;
        cuda.UseCompactQ4K = compactQ4K;
        if (k4) using (var k4Checks = new K4Checks(cuda, report, new RandomData(seed + 9))) k4Checks.RunAll();
        if (q6cTiming) G6Timing.Run(cuda);
        if (k4Timing) K4Timing.Run(cuda);
        Console.WriteLine($"{report.NumPassed} passed, {report.NumFailed} failed");
        return report.NumFailed > 0 ? 1 : 0;
    }
    if (f8c)   // session 11 (tools/gpu/f8c_run.sh parity): the fp8 f16 kernels' checks and the checks they must keep passing, then F8cTiming
    {
        using (var f8cChecks = new F8cChecks(cuda, report, new RandomData(seed + 23))) f8cChecks.RunAll();
        using (var quantWide = new QuantWideChecks(cuda, report, new RandomData(seed))) quantWide.RunAll();
        using (var quantSilu = new QuantSiluChecks(cuda, report, new RandomData(seed))) quantSilu.RunAll();
        Console.WriteLine($"{report.NumPassed} passed, {report.NumFailed} failed");
        if (Environment.GetEnvironmentVariable("HEARTH_F8C_NO_TIMING") != "1") F8cTiming.Run(cuda);
        return report.NumFailed > 0 ? 1 : 0;
    }
    if (dcl)
    {
        if (Environment.GetEnvironmentVariable("HEARTH_DCL_TIMING_ONLY") != "1")
        {
            ClusterDecodeChecks.Run(cuda, report, new RandomData(seed));
            TensorCoreDecodeChecks.Run(cuda, report, new RandomData(seed));
            PdlChecks.Run(cuda, report, new RandomData(seed));
            Console.WriteLine($"{report.NumPassed} passed, {report.NumFailed} failed");
        }
        if (Environment.GetEnvironmentVariable("HEARTH_DCL_NO_TIMING") != "1") ClusterDecodeTiming.Run(cuda);
        return report.NumFailed > 0 ? 1 : 0;
    }
    if (g6d)   // session 11 (tools/gpu/g6d_run.sh quick): G6dChecks, then --k4b's checks (below)
    {
        using (var g6dChecks = new G6dChecks(cuda, report, new RandomData(seed + 23))) g6dChecks.RunAll();
        Console.WriteLine($"g6d: {report.NumPassed} passed, {report.NumFailed} failed");
        k4b = true;
        k4bTiming = false;
    }
    if (k4b)   // session 10 (tools/gpu/k4b_run.sh quick): K4bChecks, K4Checks, then G6/GgufMix/SplitK checks as --k4 runs them, QuantChecks
    {
        using (var k4bChecks = new K4bChecks(cuda, report, new RandomData(seed + 19))) k4bChecks.RunAll();
        using (var k4Checks = new K4Checks(cuda, report, new RandomData(seed + 9))) k4Checks.RunAll();
        bool compactQ4K = cuda.UseCompactQ4K, compactQ6K = cuda.UseCompactQ6K;
        cuda.UseCompactQ4K = false;   // G6Checks' mixes, GgufMixChecks and SplitKChecks check the G4 kernels
        using (var g6 = new G6Checks(cuda, report, new RandomData(seed + 8))) g6.RunAll();
        cuda.UseCompactQ6K = false;
        using (var ggufMix = new GgufMixChecks(cuda, report, new RandomData(seed + 7))) ggufMix.RunAll();
        cuda.UseCompactQ6K = compactQ6K;
        using (var splitK = new SplitKChecks(cuda, report, new RandomData(seed + 13))) splitK.RunAll();
        cuda.UseCompactQ4K = compactQ4K;
        bool w8a8 = cuda.UseFp8W8A8;
        cuda.UseFp8W8A8 = false;
        using (var quant = new QuantChecks(cuda, report, new RandomData(seed))) quant.RunAll();
        cuda.UseFp8W8A8 = w8a8;
        Console.WriteLine($"{report.NumPassed} passed, {report.NumFailed} failed");
        if (k4bTiming) K4bTiming.Run(cuda);
        if (g6dTiming) G6dTiming.Run(cuda);
        return report.NumFailed > 0 ? 1 : 0;
    }
    if (ablationTiming)
    {
        StepAblationTiming.Run(cuda);
        return 0;
    }
    if (splitKOnly)   // session 8: the split-k checks and timings only (tools/gpu/splitk_run.sh quick)
    {
        cuda.UseCompactQ4K = false;   // SplitKChecks checks the split G4 kernels (K4 does not split)
        using (var splitK = new SplitKChecks(cuda, report, new RandomData(seed + 13))) splitK.RunAll();
        cuda.UseCompactQ4K = true;
        SplitKTiming.Run(cuda);
        Console.WriteLine($"{report.NumPassed} passed, {report.NumFailed} failed");
        return report.NumFailed > 0 ? 1 : 0;
    }
    if (i4cShort)
    {
        using (var i4cChecks = new I4cChecks(cuda, report, new RandomData(seed + 19), [CudaQuantI4V3.HalfSums])) i4cChecks.RunAll();
        Console.WriteLine($"{report.NumPassed} passed, {report.NumFailed} failed");
        I4cTiming.Run(cuda, shortOrder: true);
        return report.NumFailed > 0 ? 1 : 0;
    }
    if (i4c)   // session 11: the q - z int4 kernels' checks, then --i4-only's suite and I4cTiming (tools/gpu/i4c_run.sh quick)
    {
        using (var i4cChecks = new I4cChecks(cuda, report, new RandomData(seed + 19))) i4cChecks.RunAll();
        i4Only = true;
    }
    if (i4Only)   // session 9: the int4 i4 checks, the quantized checks it must keep passing, then I4Timing (tools/gpu/i4_run.sh quick)
    {
        var i4Random = new RandomData(seed);
        using (var i4 = new I4Checks(cuda, report, new RandomData(seed + 17))) i4.RunAll();
        bool i4W8a8 = cuda.UseFp8W8A8;
        cuda.UseFp8W8A8 = false;
        using (var quant = new QuantChecks(cuda, report, i4Random)) quant.RunAll();
        cuda.UseFp8W8A8 = i4W8a8;
        using (var quantSilu = new QuantSiluChecks(cuda, report, i4Random)) quantSilu.RunAll();
        bool i4CompactQ6K = cuda.UseCompactQ6K, i4CompactQ4K = cuda.UseCompactQ4K;
        cuda.UseCompactQ6K = false;
        cuda.UseCompactQ4K = false;   // GgufMixChecks and SplitKChecks check the G4 kernels (K4Checks the compact Q4_K)
        using (var ggufMix = new GgufMixChecks(cuda, report, new RandomData(seed + 7))) ggufMix.RunAll();
        cuda.UseCompactQ6K = i4CompactQ6K;
        using (var splitK = new SplitKChecks(cuda, report, new RandomData(seed + 13))) splitK.RunAll();
        cuda.UseCompactQ4K = i4CompactQ4K;
        Console.WriteLine($"{report.NumPassed} passed, {report.NumFailed} failed");
        if (i4c) I4cTiming.Run(cuda); else I4Timing.Run(cuda);
        return report.NumFailed > 0 ? 1 : 0;
    }
    if (gapTiming && modelDir is null)   // the step-gap timings only (tools/gpu/graph_gap.sh)
    {
        StepGapTiming.Run(cuda);
        return 0;
    }
    var opsWatch = Stopwatch.StartNew();
    using (var reference = ReferenceBackend.Create(referenceName))
    using (var pair = new BackendPair(reference, cuda))
    {
        var random = new RandomData(seed);
        var opChecks = new OpChecks(pair, report, random);
        opChecks.RunAll();
        PrefillOpChecks.Run(opChecks, report);
        new AttentionChecks(pair, report, random).RunAll();
        using (var fp8 = new Fp8AttentionChecks(cuda, report, random)) fp8.RunAll();
        DecodeVariantChecks.Run(cuda, report, random);
        TensorCoreDecodeChecks.Run(cuda, report, random);
        PipelinedDecodeChecks.Run(cuda, report, random);
        KvWriteFusionChecks.Run(cuda, report, random);
        AllocationCheck.Run(pair, report, random);
        FusionChecks.Run(pair, report, random);
        PdlChecks.Run(cuda, report, random);
        ArgMaxChecks.Run(cuda, report, new RandomData(seed + 11));   // its own stream: the checks after it see the same data as before
        bool w8a8 = cuda.UseFp8W8A8;
        cuda.UseFp8W8A8 = false;   // QuantChecks holds fp8 to the exact CPU math (W8A16); QuantGemmChecks checks W8A8
        using (var quant = new QuantChecks(cuda, report, random)) quant.RunAll();
        using (var quantSilu = new QuantSiluChecks(cuda, report, random)) quantSilu.RunAll();
        bool compactQ6K = cuda.UseCompactQ6K, compactQ4K = cuda.UseCompactQ4K;
        cuda.UseCompactQ6K = false;   // GgufMixChecks checks the G8 mixed kernel (Q6_K as G8); G6Checks the compact layout
        cuda.UseCompactQ4K = false;   // GgufMixChecks, G6Checks' mixes and SplitKChecks check the G4 kernels; K4Checks the compact Q4_K
        using (var ggufMix = new GgufMixChecks(cuda, report, new RandomData(seed + 7))) ggufMix.RunAll();   // its own stream: the checks after it see the same data as before
        cuda.UseCompactQ6K = compactQ6K;
        using (var g6 = new G6Checks(cuda, report, new RandomData(seed + 8))) g6.RunAll();
        using (var splitK = new SplitKChecks(cuda, report, new RandomData(seed + 13))) splitK.RunAll();   // its own stream, as ggufMix
        using (var i4 = new I4Checks(cuda, report, new RandomData(seed + 17))) i4.RunAll();   // its own stream, as ggufMix
        cuda.UseCompactQ4K = compactQ4K;
        using (var i4cChecks = new I4cChecks(cuda, report, new RandomData(seed + 31))) i4cChecks.RunAll();   // session 11: every HEARTH_CUDA_I4_V3 mode
        using (var k4Checks = new K4Checks(cuda, report, new RandomData(seed + 9))) k4Checks.RunAll();
        using (var k4bChecks = new K4bChecks(cuda, report, new RandomData(seed + 19))) k4bChecks.RunAll();
        using (var g6dChecks = new G6dChecks(cuda, report, new RandomData(seed + 29))) g6dChecks.RunAll();   // session 11
        using (var quantWide = new QuantWideChecks(cuda, report, random)) quantWide.RunAll();
        using (var f8cChecks = new F8cChecks(cuda, report, new RandomData(seed + 23))) f8cChecks.RunAll();   // session 11
        cuda.UseFp8W8A8 = w8a8;
        using (var gemm = new QuantGemmChecks(cuda, report, random)) gemm.RunAll();
        Console.WriteLine($"op checks took {opsWatch.Elapsed.TotalSeconds:F1} s");
        if (modelDir is not null && !opsOnly)
            ModelChecks.Run(modelDir, reference, cuda, report);
    }
    if (modelDir is not null && !opsOnly)
    {
        var engineWatch = Stopwatch.StartNew();
        SamplingChecks.Run(cuda, report);
        SamplingChecks.EngineSeeds(modelDir, cuda, report);
        SamplingChecks.JsonConstrained(modelDir, cuda, report);
        EngineChecks.ParrotCases(modelDir, cuda, report);
        RunAheadChecks.Run(modelDir, cuda, report);
        if (goldensDir is not null)
        {
            EngineChecks.HuggingFaceGoldens(goldensDir, cuda, report);
            // The same through the general attention kernel, to tell kernel error from bf16 rounding.
            cuda.UseFastAttention = false;
            EngineChecks.HuggingFaceGoldens(goldensDir, cuda, report, " (general attention)");
            cuda.UseFastAttention = true;
        }
        foreach (string quantDir in quantDirs)
        {
            QuantModelChecks.Run(modelDir, quantDir, cuda, report);
            EngineChecks.ParrotCases(quantDir, cuda, report);
        }
        QuantGemmChecks.Fp8ParrotsW8A8(modelDir, quantDirs, cuda, report);
        Console.WriteLine($"engine checks took {engineWatch.Elapsed.TotalSeconds:F1} s");
    }
    if (modelDir is not null && !opsOnly) Fp8ModelChecks.Run(modelDir, cuda, report);
    if (decodeTiming)
    {
        DecodeTiming.Run(cuda);
        foreach (bool fused in new[] { false, true })
        {
            cuda.UseFusedDecode = fused;
            Console.WriteLine($"whole decode step with {(fused ? "the fused" : "the split+combine")} decode attention:");
            StepTiming.Run(cuda);
        }
    }
    if (pdlTiming) PdlTiming.Run(cuda);
    if (siluTiming) QuantSiluTiming.Run(cuda);
    if (ggufTiming && !q6cTiming && !k4Timing) GgufStepTiming.Run(cuda);
    if (q6cTiming && !q6c && !k4) G6Timing.Run(cuda);   // includes GgufStepTiming with each Q6_K layout
    if (k4Timing && !k4 && !q6c) K4Timing.Run(cuda);     // includes GgufStepTiming with each Q4_K layout
    if (wideTiming) QuantWideTiming.Run(cuda);
    if (splitKTiming) SplitKTiming.Run(cuda);
    if (i4Timing) I4Timing.Run(cuda);
    if (quantTiming) QuantTiming.Run(cuda);
    if (quantTiming) QuantGemmTiming.Run(cuda);
    if (baseline)
    {
        Baseline.Run(cuda);
        DecodeStepTiming.Run(cuda);
        cuda.UseGemv = true;
        cuda.UseFastAttention = true;
        StepTiming.Run(cuda);
    }
    var (free, total) = cuda.MemoryInfo();
    Console.WriteLine($"GPU memory: {free / 1048576} MiB free of {total / 1048576} MiB");
    Console.WriteLine($"{report.NumPassed} passed, {report.NumFailed} failed");
    return report.NumFailed > 0 ? 1 : 0;
}
