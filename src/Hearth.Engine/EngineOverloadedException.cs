using Hearth.Core;

namespace Hearth.Engine;

/// <summary>The waiting queue is full; the caller should retry later (HTTP 429).</summary>
public sealed class EngineOverloadedException(string message) : HearthException(message);
