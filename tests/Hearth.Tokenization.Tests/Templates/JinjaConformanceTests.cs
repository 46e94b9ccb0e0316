using System.Text.Json.Nodes;
using Hearth.Testing;
using Hearth.Tokenization.Templates;

namespace Hearth.Tokenization.Tests.Templates;

/// <summary>
/// Small templates whose expected output (or failure) was produced by the real Jinja2 3.1 in transformers'
/// chat-template environment; see Conformance/make_cases.py and Conformance/cases.py.
/// </summary>
public class JinjaConformanceTests
{
    private static readonly Lazy<Dictionary<string, JsonNode>> Cases = new(() =>
    {
        string path = Path.Combine(RepoPaths.RepoRoot, "tests", "Hearth.Tokenization.Tests", "Templates", "Conformance", "jinja-cases.json");
        return JsonNode.Parse(File.ReadAllText(path))!.AsArray().ToDictionary(c => (string)c!["name"]!, c => c!);
    });

    public static TheoryData<string> RenderingCases()
    {
        var data = new TheoryData<string>();
        foreach (var (name, c) in Cases.Value) if (c["expected"] is not null) data.Add(name);
        return data;
    }

    public static TheoryData<string> FailingCases()
    {
        var data = new TheoryData<string>();
        foreach (var (name, c) in Cases.Value) if (c["error"] is not null) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(RenderingCases))]
    public void Renders_like_jinja2(string name)
    {
        var c = Cases.Value[name];
        string actual = TemplateTestHelper.Render((string)c["template"]!, (string)c["vars"]!);
        Assert.Equal((string)c["expected"]!, actual);
    }

    [Theory]
    [MemberData(nameof(FailingCases))]
    public void Fails_where_jinja2_fails(string name)
    {
        var c = Cases.Value[name];
        var error = TemplateTestHelper.RenderError((string)c["template"]!, (string)c["vars"]!);
        Assert.True(error.Line >= 1 && error.Column >= 1);
    }
}
