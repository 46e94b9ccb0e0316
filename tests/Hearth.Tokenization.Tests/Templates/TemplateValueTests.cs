using System.Globalization;
using System.Text.Json.Nodes;
using Hearth.Tokenization.Templates;
using static Hearth.Tokenization.Tests.Templates.TemplateTestHelper;

namespace Hearth.Tokenization.Tests.Templates;

/// <summary>How request JSON becomes template values, and behaviour that does not depend on Jinja's output.</summary>
public class TemplateValueTests
{
    private static string RenderNodes(string template, params (string Name, JsonNode? Value)[] variables) =>
        JinjaTemplate.Parse(template).Render(variables.ToDictionary(v => v.Name, v => v.Value));

    [Fact]
    public void Json_numbers_keep_python_int_and_float_distinction()
    {
        var parsed = JsonNode.Parse("""{"i": 3, "f": 3.0, "e": 1e2, "big": 12345678901234567890}""")!;
        Assert.Equal("3 3.0 100.0 1.2345678901234567e+19",
            RenderNodes("{{ v.i }} {{ v.f }} {{ v.e }} {{ v.big }}", ("v", parsed)));
    }

    [Fact]
    public void Programmatic_json_values_convert_like_parsed_ones()
    {
        var obj = new JsonObject
        {
            ["z"] = JsonValue.Create(5),
            ["a"] = JsonValue.Create(2.5),
            ["b"] = JsonValue.Create(true),
            ["s"] = JsonValue.Create("é"),
            ["n"] = null,
            ["l"] = new JsonArray(JsonValue.Create(1L), JsonValue.Create(1.0)),
        };
        Assert.Equal("""{"z": 5, "a": 2.5, "b": true, "s": "é", "n": null, "l": [1, 1.0]}""",
            RenderNodes("{{ o|tojson }}", ("o", obj)));
    }

    [Fact]
    public void A_null_variable_is_defined_none_and_a_missing_one_is_undefined()
    {
        Assert.Equal("True True False", RenderNodes("{{ x is defined }} {{ x is none }} {{ y is defined }}", ("x", null)));
    }

    [Fact]
    public void Strftime_now_formats_the_current_local_time()
    {
        string before = DateTime.Now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        string rendered = Render("{{ strftime_now('%Y-%m-%d') }}|{{ strftime_now('%d %B %Y') }}|{{ strftime_now('%-d %b') }}");
        string after = DateTime.Now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        string date = rendered.Split('|')[0];
        Assert.True(date == before || date == after, rendered);
        var day = DateTime.ParseExact(date, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        Assert.Equal(day.ToString("dd MMMM yyyy", CultureInfo.InvariantCulture), rendered.Split('|')[1]);
        Assert.Equal(day.Day + " " + day.ToString("MMM", CultureInfo.InvariantCulture), rendered.Split('|')[2]);
    }

    [Fact]
    public void Rendering_is_thread_safe_and_repeatable()
    {
        var template = JinjaTemplate.Parse("{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}");
        var results = new string[64];
        Parallel.For(0, results.Length, i =>
        {
            var xs = new JsonArray(Enumerable.Range(0, i + 1).Select(k => (JsonNode?)JsonValue.Create(k)).ToArray());
            results[i] = template.Render(new Dictionary<string, JsonNode?> { ["xs"] = xs });
        });
        for (int i = 0; i < results.Length; i++) Assert.Equal((i * (i + 1) / 2).ToString(CultureInfo.InvariantCulture), results[i]);
    }

    [Fact]
    public void Template_cannot_mutate_the_caller_json()
    {
        var messages = JsonNode.Parse("""[{"role": "user", "content": "hi"}]""")!;
        RenderNodes("{% set m = messages[0] %}{% set ns = namespace(x=messages) %}{{ messages|length }}", ("messages", messages));
        Assert.Equal("""[{"role":"user","content":"hi"}]""", messages.ToJsonString());
    }

    [Fact]
    public void Generation_block_from_transformers_renders_its_body()
    {
        Assert.Equal("<a>text</a>", Render("<a>{% generation %}text{% endgeneration %}</a>"));
    }

    [Fact]
    public void Windows_newlines_in_the_template_behave_like_unix_ones()
    {
        Assert.Equal(Render("{% if true %}\nA\n{% endif %}\nB\n"), Render("{% if true %}\r\nA\r\n{% endif %}\r\nB\r\n"));
    }
}
