using System.Diagnostics;
using System.Text;

namespace Hearth.Cli.Tests;

/// <summary>Runs the built `hearth` CLI as a child process, so exit codes and exact stdout bytes are tested for real.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, byte[] Stdout, string Stderr)
    {
        public string StdoutText => Encoding.UTF8.GetString(Stdout);
    }

    public static Result Run(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "hearth.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        using var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("hearth " + string.Join(' ', args) + " did not finish");
        }
        copy.Wait();
        return new Result(process.ExitCode, stdout.ToArray(), stderr.Result);
    }
}
