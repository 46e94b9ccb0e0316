using System.Globalization;
using Hearth.Backends.Cpu;
using Hearth.Backends.Cuda;
using Hearth.Engine;
using Hearth.Engine.Benchmarking;
using Hearth.Engine.Loading;

namespace Hearth.Bench;

/// <summary>
/// `load --model DIR [--requests 32] [--input-len 128] [--output-len 64] [--max-num-seqs 32] [--threads N]
/// [--device cpu|cuda|auto] [--sequential] [--repeat N]`: submits N requests at once to the engine through
/// <see cref="LoadGenerator"/> and reports throughput, TTFT and ITL percentiles. With --sequential it also runs them
/// one after another and reports the ratio (the median of N pairs with --repeat N). `hearth bench --concurrent N` runs the same measurement.
/// </summary>
public static class LoadGeneratorBench
{
    public static int Run(string[] args)
    {
        var options = BenchArgs.Parse(args);
        string model = options.Require("--model");
        int requests = options.Int("--requests", 32), inputLen = options.Int("--input-len", 128), outputLen = options.Int("--output-len", 64);
        int maxNumSeqs = options.Int("--max-num-seqs", requests);
        using var backend = BackendFactory.Create(options.String("--device") ?? "cpu", out string? warning, options.Int("--threads", 0));
        if (warning is not null) Console.Error.WriteLine("warning: " + warning);
        // The GPU takes whole prompts in a step; the CPU keeps the usual chunk.
        int stepTokens = backend is CudaBackend ? Math.Max(2048, maxNumSeqs) : Math.Max(512, maxNumSeqs);
        using var loaded = ModelLoader.Load(model, backend, stepTokens, maxNumSeqs);
        var engineOptions = new EngineOptions { MaxNumSeqs = maxNumSeqs, MaxNumBatchedTokens = stepTokens, MaxModelLen = inputLen + outputLen + 1 };
        engineOptions = BackendFactory.WithKvCacheBudget(engineOptions, backend, loaded.Config);
        var prompts = LoadGenerator.RandomPrompts(requests, inputLen, seed: 42, loaded.Model.VocabSize);

        string where = backend is CpuBackend cpu ? $"threads {cpu.NumThreads}" : $"device {backend.Name}";
        Console.WriteLine($"model {Path.GetFileName(Path.GetFullPath(model))}, {requests} requests, input {inputLen}, output {outputLen}, max-num-seqs {maxNumSeqs}, {where}");
        // Each repeat runs both modes back to back; on a small shared machine single runs move by ±30 %, so the
        // median ratio over several pairs is the figure to report.
        int repeats = Math.Max(1, options.Int("--repeat", 1));
        var ratios = new List<double>();
        for (int repeat = 0; repeat < repeats; repeat++)
        {
            var concurrent = LoadGenerator.Run(loaded, backend, engineOptions, prompts, outputLen, concurrently: true);
            Console.WriteLine(concurrent.Format("concurrent"));
            if (!options.Flag("--sequential")) continue;
            var sequential = LoadGenerator.Run(loaded, backend, engineOptions, prompts, outputLen, concurrently: false);
            Console.WriteLine(sequential.Format("sequential"));
            double ratio = concurrent.WallSeconds / sequential.WallSeconds;
            ratios.Add(ratio);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"concurrent / sequential wall time: {ratio:F3} ({1 / ratio:F1}x faster)"));
        }
        if (ratios.Count > 1)
        {
            ratios.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"median concurrent / sequential over {ratios.Count} pairs: {ratios[ratios.Count / 2]:F3} (min {ratios[0]:F3}, max {ratios[^1]:F3})"));
        }
        return 0;
    }
}
