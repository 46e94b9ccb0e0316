namespace Hearth.Server.Hosting;

/// <summary>How the HTTP server presents the model and guards itself.</summary>
public sealed record HearthServerOptions
{
    /// <summary>The name clients pass as "model"; any other name is answered with 404.</summary>
    public required string ServedModelName { get; init; }

    /// <summary>When set, every route but /health requires "Authorization: Bearer KEY".</summary>
    public string? ApiKey { get; init; }

    /// <summary>
    /// Generation requests the server accepts at once (running plus waiting); beyond this it answers 429
    /// before touching the engine, so a flood of connections cannot grow memory without limit.
    /// </summary>
    public int MaxInFlightRequests { get; init; } = 320;

    /// <summary>Seconds suggested in Retry-After when refusing with 429.</summary>
    public int RetryAfterSeconds { get; init; } = 1;

    /// <summary>Facts shown by /api/show and /api/tags.</summary>
    public string ModelFamily { get; init; } = "qwen3";

    public long ModelSizeBytes { get; init; }

    public DateTimeOffset ModelModifiedAt { get; init; } = DateTimeOffset.UnixEpoch;
}
