namespace Hearth.Tokenization.Templates;

/// <summary>The object made by namespace(...): the one value whose attributes a template may assign across scopes.</summary>
internal sealed class JinjaNamespace
{
    public Dictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}
