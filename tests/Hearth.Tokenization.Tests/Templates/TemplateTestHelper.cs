using System.Text.Json.Nodes;
using Hearth.Tokenization.Templates;

namespace Hearth.Tokenization.Tests.Templates;

internal static class TemplateTestHelper
{
    /// <summary>Renders a template with variables given as a JSON object literal.</summary>
    public static string Render(string template, string variablesJson = "{}")
    {
        var variables = new Dictionary<string, JsonNode?>();
        foreach (var kv in JsonNode.Parse(variablesJson)!.AsObject()) variables[kv.Key] = kv.Value?.DeepClone();
        return JinjaTemplate.Parse(template).Render(variables);
    }

    public static TemplateException RenderError(string template, string variablesJson = "{}") =>
        Assert.Throws<TemplateException>(() => Render(template, variablesJson));
}
