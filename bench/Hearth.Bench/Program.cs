namespace Hearth.Bench;

/// <summary>Benchmarks, run as `dotnet run --project bench/Hearth.Bench -c Release -- NAME [args]`.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var benches = new Dictionary<string, Func<string[], int>>(StringComparer.Ordinal)
        {
            ["cpu-ops"] = CpuOpsBench.Run,
            ["load"] = LoadGeneratorBench.Run,
            ["tokenizer"] = TokenizerBench.Run,
        };
        if (args.Length == 0 || !benches.TryGetValue(args[0], out var run))
        {
            Console.Error.WriteLine("usage: Hearth.Bench <" + string.Join("|", benches.Keys) + "> [args]");
            return 2;
        }
        return run(args[1..]);
    }
}
