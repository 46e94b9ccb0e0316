using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Hearth.Core;
using Hearth.Models;
using Hearth.Models.Quantization;

namespace Hearth.Cli;

/// <summary>`hearth quantize`: writes a BF16 model in one of the formats of <see cref="ModelQuantizers"/>; progress on stderr.</summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        string formats = string.Join("|", ModelQuantizers.All.Select(q => q.Name));
        var model = new Option<string>("--model") { Description = "Unquantized model folder (config.json, safetensors, tokenizer)", Required = true };
        var to = new Option<string>("--to") { Description = $"Format to write: {formats}", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder (or file, for single-file formats)", Required = true };
        var command = new Command("quantize", "Quantize a BF16 model: " + string.Join("; ", ModelQuantizers.All.Select(q => $"{q.Name} = {q.Description}")));
        foreach (var o in new Option[] { model, to, output }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var quantizer = ModelQuantizers.Find(parse.GetValue(to)!);
            string directory = ModelPaths.RequireDirectory(parse.GetValue(model)!);
            string outputPath = Path.GetFullPath(parse.GetValue(output)!);
            if (string.Equals(outputPath.TrimEnd(Path.DirectorySeparatorChar), directory.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
                throw new HearthException("--out must differ from --model; quantizing in place would overwrite the source");
            using var checkpoint = ModelCheckpoint.Open(directory);
            var clock = Stopwatch.StartNew();
            quantizer.Quantize(checkpoint, outputPath, new StderrProgress(clock));
            Console.Error.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {quantizer.Name} model to {outputPath} in {clock.Elapsed.TotalSeconds:F1} s"));
            return 0;
        });
        return command;
    }

    /// <summary>Rewrites one stderr line at most ten times a second, so long runs show they are moving.</summary>
    private sealed class StderrProgress(Stopwatch clock) : IProgress<QuantizeProgress>
    {
        private long _lastTicks = -1;

        public void Report(QuantizeProgress value)
        {
            long now = clock.ElapsedMilliseconds;
            bool last = value.TensorsDone == value.TensorCount;
            if (!last && _lastTicks >= 0 && now - _lastTicks < 100) return;
            _lastTicks = now;
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                $"\rquantizing {value.TensorsDone}/{value.TensorCount} tensors ({100.0 * value.TensorsDone / Math.Max(1, value.TensorCount):F0}%) {value.TensorName,-60}"));
        }
    }
}
