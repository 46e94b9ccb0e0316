using Hearth.Core;

namespace Hearth.Server.Errors;

/// <summary>A request the server refuses, with the HTTP status and the OpenAI error fields to report.</summary>
public sealed class ApiException(int statusCode, string message, string? param = null, string? code = null)
    : HearthException(message)
{
    public int StatusCode { get; } = statusCode;

    public string? Param { get; } = param;

    public string? Code { get; } = code;

    public static ApiException BadRequest(string message, string? param = null, string? code = null) => new(400, message, param, code);

    public static ApiException ModelNotFound(string model) =>
        new(404, $"The model '{model}' does not exist.", "model", "model_not_found");
}
