using System.CommandLine;
using System.Text.Json;
using Hearth.Core;

namespace Hearth.Cli;

/// <summary>Runs the parsed command and turns expected failures into a one-line message and exit code 1.</summary>
public static class CliRunner
{
    public static int Run(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex) when (Describe(ex) is { } message)
        {
            Console.Out.Flush();
            Console.Error.WriteLine("error: " + message);
            return 1;
        }
    }

    /// <summary>A one-line description of an error the user can act on, or null for a real bug.</summary>
    public static string? Describe(Exception ex) => ex switch
    {
        HearthException h => OneLine(h.Message),
        JsonException j => OneLine("invalid JSON: " + j.Message),
        FileNotFoundException f => OneLine("file not found: " + (f.FileName ?? f.Message)),
        DirectoryNotFoundException d => OneLine(d.Message),
        UnauthorizedAccessException u => OneLine(u.Message),
        IOException io => OneLine(io.Message),
        _ => null,
    };

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
