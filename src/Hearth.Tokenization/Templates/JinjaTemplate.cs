using System.Text.Json.Nodes;

namespace Hearth.Tokenization.Templates;

/// <summary>
/// A Jinja2 template parsed once and rendered many times, with the environment transformers uses for chat
/// templates: trim_blocks and lstrip_blocks on, a single trailing newline of the source dropped, loop controls
/// (break/continue), and the globals raise_exception and strftime_now. Thread-safe: Render keeps no shared state.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly List<Stmt> _body;

    private JinjaTemplate(List<Stmt> body) => _body = body;

    /// <summary>Parses the source; throws <see cref="TemplateException"/> with the position of a syntax error.</summary>
    public static JinjaTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        // Jinja normalises newlines and, without keep_trailing_newline, drops one trailing newline.
        string normalized = source.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        if (normalized.EndsWith('\n')) normalized = normalized[..^1];
        var map = new SourceMap(normalized);
        try
        {
            return new JinjaTemplate(Parser.ParseTemplate(normalized, map));
        }
        catch (InsufficientExecutionStackException)
        {
            throw new TemplateException("template nested too deeply", 1, 1);
        }
    }

    /// <summary>Renders with JSON variables; throws <see cref="TemplateException"/> on runtime errors.</summary>
    public string Render(IReadOnlyDictionary<string, JsonNode?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var kv in variables) values[kv.Key] = Convert(kv.Value);
        return RenderValues(values, () => DateTime.Now);
    }

    internal static object? Convert(JsonNode? node)
    {
        try
        {
            return ValueConverter.FromJson(node);
        }
        catch (JinjaRuntimeError e)
        {
            throw new TemplateException(e.Message, 1, 1);
        }
        catch (InsufficientExecutionStackException)
        {
            throw new TemplateException("template variable nested too deeply", 1, 1);
        }
    }

    internal string RenderValues(IReadOnlyDictionary<string, object?> values, Func<DateTime> now)
    {
        var root = new Scope(null);
        foreach (var kv in values) root.Set(kv.Key, kv.Value);
        var context = new RenderContext(root, Globals.Create(now));
        try
        {
            Stmt.Run(_body, context);
            return context.Output.ToString();
        }
        catch (JinjaRuntimeError e)
        {
            throw new TemplateException(e.Message, Math.Max(1, e.Line), Math.Max(1, e.Column));
        }
    }
}
