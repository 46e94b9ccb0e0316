using System.Text.Json.Serialization;

namespace Hearth.Cli;

/// <summary>Source-generated JSON metadata, so the CLI stays trim-safe.</summary>
[JsonSerializable(typeof(int[]))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
