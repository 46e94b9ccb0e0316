using Hearth.Core;

namespace Hearth.Engine;

/// <summary>The request can never run as asked, for example prompt plus max_tokens exceed the context (HTTP 400).</summary>
public sealed class RequestRejectedException(string message) : HearthException(message);
