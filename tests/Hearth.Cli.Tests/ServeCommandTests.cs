using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hearth.Testing;

namespace Hearth.Cli.Tests;

/// <summary>`hearth serve` as a user starts it: a child process that loads the parrot, listens, answers and stops on a signal.</summary>
public sealed class ServeCommandTests
{
    [Theory]
    [InlineData("INT")]  // Ctrl+C
    [InlineData("TERM")] // docker stop, Kubernetes
    public async Task ServeLoadsTheModelAnswersAChatAndStopsOnASignal(string signal)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "hearth.dll"), "serve", "--model", RepoPaths.Parrot, "--port", "0", "--device", "cpu", "--max-model-len", "1024" })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        try
        {
            var address = await ReadAddressAsync(process);
            using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
            Assert.Equal("ok", (string?)JsonNode.Parse(await client.GetStringAsync("/health"))!["status"]);
            var models = JsonNode.Parse(await client.GetStringAsync("/v1/models"))!;
            Assert.Equal("parrot-qwen3", (string?)models["data"]![0]!["id"]);

            var body = """{"model":"parrot-qwen3","temperature":0,"messages":[{"role":"user","content":"What is the capital of France?"}],"chat_template_kwargs":{"enable_thinking":false}}""";
            using var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
            var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal("The capital of France is Paris.", (string?)json["choices"]![0]!["message"]!["content"]);

            Assert.Equal(0, SendSignal(signal, process.Id));
            Assert.True(process.WaitForExit(30_000), $"hearth serve did not stop on SIG{signal}");
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void AMissingModelFolderIsOneLineAndExitCodeOne()
    {
        var result = CliProcess.Run("serve", "--model", "/nonexistent/model", "--port", "0");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: model folder not found: /nonexistent/model", result.Stderr.Trim());
    }

    private static async Task<Uri> ReadAddressAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var seen = new StringBuilder();
        while (await process.StandardError.ReadLineAsync(timeout.Token) is { } line)
        {
            seen.AppendLine(line);
            var match = Regex.Match(line, @"serving '[^']+' at (http://\S+) ");
            if (match.Success) return new Uri(match.Groups[1].Value);
        }
        throw new InvalidOperationException("hearth serve exited before listening: " + seen);
    }

    private static int SendSignal(string signal, int pid)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        return kill.ExitCode;
    }
}
