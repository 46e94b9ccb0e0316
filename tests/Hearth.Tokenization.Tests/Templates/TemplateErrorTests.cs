using System.Text.Json.Nodes;
using Hearth.Core;
using Hearth.Tokenization.Templates;
using static Hearth.Tokenization.Tests.Templates.TemplateTestHelper;

namespace Hearth.Tokenization.Tests.Templates;

/// <summary>Errors carry 1-based positions, and hostile templates fail cleanly instead of crashing the process.</summary>
public class TemplateErrorTests
{
    [Fact]
    public void Syntax_error_reports_line_and_column_of_the_offending_token()
    {
        var error = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("line one\n  {% if %}x{% endif %}"));
        Assert.Equal(2, error.Line);
        Assert.Equal(9, error.Column); // the "%}" where an expression was expected
        Assert.Contains("line 2, column 9", error.Message);
    }

    [Fact]
    public void Unclosed_print_tag_points_at_its_start()
    {
        var error = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("ab\ncd {{ x"));
        Assert.Equal((2, 4), (error.Line, error.Column));
    }

    [Fact]
    public void Unclosed_block_names_the_expected_end_tag()
    {
        var error = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{% for x in y %}\n{{ x }}"));
        Assert.Contains("endfor", error.Message);
    }

    [Fact]
    public void Unknown_filter_is_a_parse_error_at_the_filter_name()
    {
        var error = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{{ x | nosuch }}"));
        Assert.Equal((1, 8), (error.Line, error.Column));
        Assert.Contains("nosuch", error.Message);
    }

    [Fact]
    public void Unknown_filter_inside_if_fails_only_when_evaluated_like_jinja3()
    {
        Assert.Equal("ok", Render("{% if false %}{{ x|nosuch }}{% endif %}ok"));
        var error = RenderError("{% if true %}\n{{ x|nosuch }}{% endif %}");
        Assert.Equal(2, error.Line);
    }

    [Fact]
    public void Runtime_error_points_at_the_failing_attribute_access()
    {
        var error = RenderError("a\n  {{ x.y.z }}", """{"x": {}}""");
        Assert.Equal((2, 9), (error.Line, error.Column));
        Assert.Contains("'dict object' has no attribute 'y'", error.Message);
    }

    [Fact]
    public void Method_call_on_undefined_is_a_template_error()
    {
        var error = RenderError("{{ message.content.startswith('x') }}", """{"message": {}}""");
        Assert.Contains("has no attribute 'content'", error.Reason);
    }

    [Fact]
    public void Raise_exception_message_is_the_reason_and_error_is_a_hearth_exception()
    {
        var error = RenderError("{{ raise_exception('Only user and assistant roles are supported!') }}");
        Assert.Equal("Only user and assistant roles are supported!", error.Reason);
        Assert.IsAssignableFrom<HearthException>(error);
    }

    [Fact]
    public void Type_errors_become_template_errors()
    {
        Assert.Contains("can only concatenate str", RenderError("{{ 'a' + 1 }}").Reason);
        Assert.Contains("by zero", RenderError("{{ 1 // 0 }}").Reason);
        Assert.Contains("not iterable", RenderError("{% for x in 5 %}{% endfor %}").Reason);
    }

    [Fact]
    public void Deeply_nested_parentheses_fail_without_stack_overflow()
    {
        string source = "{{ " + new string('(', 100_000) + "1" + new string(')', 100_000) + " }}";
        var error = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse(source));
        Assert.Contains("nested too deeply", error.Message);
    }

    [Fact]
    public void Deeply_nested_blocks_fail_without_stack_overflow()
    {
        string source = string.Concat(Enumerable.Repeat("{% if true %}", 50_000));
        Assert.Throws<TemplateException>(() => JinjaTemplate.Parse(source));
    }

    [Fact]
    public void Deep_unary_chains_fail_without_stack_overflow()
    {
        Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{{ " + string.Concat(Enumerable.Repeat("not ", 100_000)) + "x }}"));
        Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{{ " + new string('-', 100_000) + "1 }}"));
    }

    [Fact]
    public void Very_long_operator_chain_renders_or_fails_cleanly()
    {
        string source = "{{ " + string.Join(" + ", Enumerable.Repeat("1", 200_000)) + " }}";
        try
        {
            Assert.Equal("200000", JinjaTemplate.Parse(source).Render(new Dictionary<string, JsonNode?>()));
        }
        catch (TemplateException e)
        {
            Assert.Contains("nested too deeply", e.Message);
        }
    }

    [Fact]
    public void Runaway_macro_recursion_is_bounded()
    {
        var error = RenderError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        Assert.Contains("recursion", error.Reason);
    }

    [Fact]
    public void Huge_ranges_and_strings_are_refused()
    {
        Assert.Contains("MAX_RANGE", RenderError("{% for i in range(10**9) %}x{% endfor %}").Reason);
        Assert.Contains("too large", RenderError("{{ 'x' * 1000000000 }}").Reason);
    }

    [Fact]
    public void Nested_loops_are_bounded_by_a_total_iteration_budget()
    {
        var error = RenderError("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
        Assert.Contains("loop iterations", error.Reason);
    }

    [Fact]
    public void Deeply_nested_json_variables_fail_cleanly()
    {
        JsonNode node = new JsonArray();
        for (int i = 0; i < 100_000; i++) node = new JsonArray(node);
        var template = JinjaTemplate.Parse("{{ x|tojson }}");
        Assert.Throws<TemplateException>(() => template.Render(new Dictionary<string, JsonNode?> { ["x"] = node }));
    }

    [Fact]
    public void Break_outside_a_loop_is_a_syntax_error()
    {
        Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{% break %}"));
        Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{% for x in y %}{% macro m() %}{% break %}{% endmacro %}{% endfor %}"));
    }

    [Fact]
    public void Chat_template_rejects_kwargs_that_shadow_its_own_arguments()
    {
        var template = new ChatTemplate("{{ messages|length }}");
        var kwargs = new Dictionary<string, JsonNode?> { ["messages"] = new JsonArray() };
        Assert.Throws<HearthException>(() => template.Render(new JsonArray(), null, true, kwargs));
    }
}
