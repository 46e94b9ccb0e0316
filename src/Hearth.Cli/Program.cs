using System.CommandLine;
using Hearth.Cli;

var root = new RootCommand("Hearth: a self-hosted LLM inference engine and server for Qwen3 models.");
foreach (var command in Commands.All())
    root.Subcommands.Add(command);
return CliRunner.Run(root, args);
