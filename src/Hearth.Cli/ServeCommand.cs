using System.CommandLine;
using System.Diagnostics;
using Hearth.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace Hearth.Cli;

/// <summary>`hearth serve`: one model behind the OpenAI-, Ollama- and vLLM-compatible HTTP APIs.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (config.json, *.safetensors, tokenizer.json) or a .gguf file", Required = true };
        var host = new Option<string>("--host") { Description = "Address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one)", DefaultValueFactory = _ => 8000 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };
        var servedName = new Option<string?>("--served-model-name") { Description = "The model name clients use (default: the folder's name)" };
        var maxModelLen = new Option<int?>("--max-model-len") { Description = "Prompt plus output tokens per request (default: the model's context)" };
        var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer KEY' on every route but /health" };
        var maxNumSeqs = new Option<int>("--max-num-seqs") { Description = "Requests running at once", DefaultValueFactory = _ => 64 };
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests allowed to wait; more get 429", DefaultValueFactory = _ => 256 };
        var gpuMemory = new Option<double>("--gpu-memory-utilization")
        {
            Description = "Share of GPU memory for weights, activations and KV cache",
            DefaultValueFactory = _ => Hearth.Engine.Loading.BackendFactory.DefaultGpuMemoryUtilization,
        };
        var kvCacheDType = new Option<string>("--kv-cache-dtype") { Description = "KV cache element type: auto, bf16 or fp8 (e4m3, scale 1.0)", DefaultValueFactory = _ => "auto" };
        var command = new Command("serve", "Serve a model over HTTP (OpenAI, Ollama and vLLM APIs)");
        foreach (var o in new Option[] { model, host, port, device, servedName, maxModelLen, apiKey, maxNumSeqs, maxQueue, gpuMemory, kvCacheDType })
            command.Options.Add(o);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new ServeSettings
            {
                ModelDirectory = parse.GetValue(model)!,
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                Device = parse.GetValue(device)!,
                ServedModelName = parse.GetValue(servedName),
                MaxModelLen = parse.GetValue(maxModelLen),
                ApiKey = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("HEARTH_API_KEY"),
                MaxNumSeqs = parse.GetValue(maxNumSeqs),
                MaxQueue = parse.GetValue(maxQueue),
                GpuMemoryUtilization = parse.GetValue(gpuMemory),
                KvCacheDType = parse.GetValue(kvCacheDType)!,
            };
            settings.Validate();
            var stopwatch = Stopwatch.StartNew();
            Console.Error.WriteLine($"hearth: loading {Path.GetFullPath(settings.ModelDirectory)} on --device {settings.Device}");
            await using var server = HearthServerHost.Load(settings);
            await server.App.StartAsync(cancellationToken);
            Console.Error.WriteLine(
                $"hearth: serving '{settings.ResolvedModelName}' at {server.Address} (max model len {server.Engine.MaxModelLen}, " +
                $"loaded in {stopwatch.Elapsed.TotalSeconds:F1} s); Ctrl+C stops");
            await server.App.WaitForShutdownAsync(cancellationToken);
            Console.Error.WriteLine("hearth: stopping");
            await server.DisposeAsync();
            Console.Error.WriteLine("hearth: stopped");
            return 0;
        });
        return command;
    }
}
