using System.CommandLine;

namespace Hearth.Cli;

/// <summary>The list of top-level commands; each lives in its own file.</summary>
internal static class Commands
{
    public static IEnumerable<Command> All()
    {
        yield return TokenizeCommand.Create();
        yield return TemplateCommand.Create();
        yield return GenerateCommand.Create();
        yield return BenchCommand.Create();
    }
}
